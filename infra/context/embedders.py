"""Embedders: text to vectors, chosen by settings (``SWITCHBOARD_CONTEXT_EMBEDDER``).

- ``onnx`` (default): all-MiniLM-L6-v2 int8 on onnxruntime, offline (:mod:`infra.context.minilm`).
- ``openai``: the embeddings endpoint of OpenAI or any compatible server, through ``openai``
  with its own retries off (Temporal owns retries); errors are the client's own exceptions
  (``openai.APIStatusError`` with the HTTP status, ``openai.APIConnectionError``).

Every embedder returns unit-length vectors of ``dimension`` floats, batched, without blocking the
event loop. The store's column is vector(384): see migration 0006 for another dimension.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from infra.context.minilm import OnnxMiniLMEmbedder

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from infra.settings import ContextSettings

__all__ = ["Embedder", "OnnxMiniLMEmbedder", "OpenAIEmbedder", "SharedEmbeddings",
           "build_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed dimension."""

    @property
    def dimension(self) -> int:
        """Floats per vector."""
        ...

    @property
    def model(self) -> str:
        """Which model made the vectors (stored with each document)."""
        ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order."""
        ...


class SharedEmbeddings:
    """Vectors for one job, each text embedded once: one event's dispatch plan asks for the
    vector of the event's text for its context search and again for each agent's memory
    recall, at the same time; they share one embedding (a text asked for while its embedding
    is under way waits for that one)."""

    def __init__(self, embed: Callable[[list[str]], Awaitable[list[list[float]]]]) -> None:
        self._embed = embed
        self._asked: dict[str, tuple[asyncio.Future[list[list[float]]], int]] = {}

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order (the texts not asked for yet in one batch)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._asked]
        if missing:
            batch = asyncio.ensure_future(self._embed(missing))
            self._asked.update((text, (batch, i)) for i, text in enumerate(missing))
        return [(await asyncio.shield(batch))[i]
                for batch, i in (self._asked[t] for t in texts)]


class OpenAIEmbedder:
    """OpenAI embeddings (``text-embedding-3-*`` take a ``dimensions`` argument)."""

    def __init__(self, client: AsyncOpenAI, model: str, dimensions: int,
                 *, batch_size: int = 256) -> None:
        self._client = client
        self._model = model
        self._dimensions = dimensions
        self._batch_size = max(1, batch_size)

    @property
    def dimension(self) -> int:
        """Floats per vector, as asked of the API."""
        return self._dimensions

    @property
    def model(self) -> str:
        """The model name with its dimension, e.g. ``openai:text-embedding-3-small@384``."""
        return f"openai:{self._model}@{self._dimensions}"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts``, one request per batch of ``batch_size`` inputs."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start: start + self._batch_size]
            response = await self._client.embeddings.create(
                model=self._model, input=batch, dimensions=self._dimensions,
                encoding_format="float")
            rows = sorted(response.data, key=lambda item: item.index)
            if len(rows) != len(batch) or any(len(r.embedding) != self._dimensions
                                              for r in rows):
                raise ValueError(
                    f"embeddings endpoint answered {len(rows)} vectors for {len(batch)} inputs"
                    f" or a dimension other than {self._dimensions}")
            vectors.extend(_unit(row.embedding) for row in rows)
        return vectors


def _unit(vector: list[float]) -> list[float]:
    """``vector`` scaled to length 1 (OpenAI's already are; a compatible server's may not be)."""
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector] if norm > 0 else vector


def build_embedder(settings: ContextSettings) -> Embedder:
    """The embedder the settings name (nothing is loaded or connected until first use)."""
    if settings.embedder == "openai":
        from openai import AsyncOpenAI

        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ValueError("SWITCHBOARD_CONTEXT_OPENAI_API_KEY (or OPENAI_API_KEY) is not set")
        client = AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url, max_retries=0,
            timeout=settings.openai_timeout_seconds)
        return OpenAIEmbedder(client, settings.openai_model, settings.openai_dimensions,
                              batch_size=settings.openai_batch_size)
    return OnnxMiniLMEmbedder(batch_size=settings.embed_batch_size,
                              threads=settings.onnx_threads)
