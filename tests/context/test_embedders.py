"""Embedders: the real offline model, and OpenAI's client against a local fake endpoint."""

from __future__ import annotations

import numpy as np
import openai
import pytest
from pydantic import SecretStr

from infra.context import OnnxMiniLMEmbedder, OpenAIEmbedder, build_embedder
from infra.settings import ContextSettings
from tests.fakes.openai_embeddings import FakeEmbeddings


def cos(a: list[float], b: list[float]) -> float:
    """Cosine of two unit vectors."""
    return float(np.dot(a, b))


async def test_minilm_paraphrases_are_close_and_unrelated_texts_far(
        minilm: OnnxMiniLMEmbedder) -> None:
    login, login2, readme, readme2, bread = await minilm.embed([
        "The login page crashes when I press the sign-in button",
        "Signing in fails: the app crashes on the login screen",
        "Spelling error in the README file",
        "There is a typo in the readme documentation",
        "Knead the dough and let it rise for two hours before baking",
    ])
    assert minilm.dimension == 384 and len(login) == 384
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in (login, readme, bread))
    assert cos(login, login2) > 0.6 and cos(readme, readme2) > 0.6
    assert cos(login, bread) < 0.2 and cos(readme, bread) < 0.2 and cos(login, readme) < 0.3


async def test_minilm_batches_match_single_texts(minilm: OnnxMiniLMEmbedder) -> None:
    texts = ["short one", "a somewhat longer sentence about database migrations and indexes",
             "Summary of a thread about flaky CI runs"]
    batch = await minilm.embed(texts)
    for text, vector in zip(texts, batch, strict=True):
        [single] = await minilm.embed([text])
        assert cos(single, vector) > 0.9999


async def test_minilm_reads_a_long_chunk_to_its_end(minilm: OnnxMiniLMEmbedder) -> None:
    """The model reads 256 word pieces; a 500-token chunk is embedded window by window."""
    head = "The nightly backup job copies the database to cold storage. " * 40  # > 256 pieces
    tail = "Kubernetes pods are evicted when the node runs out of memory. " * 20
    only_head, with_tail, topic = await minilm.embed(
        [head, head + tail, "pods evicted because the node ran out of memory"])
    assert cos(with_tail, topic) > cos(only_head, topic) + 0.2


def fake_vector(text: str, dims: int) -> list[float]:
    """A deterministic, not normalised vector for the fake server to answer."""
    return [float(len(text) % 7 + 1), *([0.5] * (dims - 1))]


async def test_openai_embedder_through_the_real_client() -> None:
    with FakeEmbeddings(fake_vector) as fake:
        client = openai.AsyncOpenAI(api_key="sk-test-embed", base_url=fake.base_url,
                                    max_retries=0)
        embedder = OpenAIEmbedder(client, "text-embedding-3-small", 384, batch_size=2)
        texts = ["one", "two two", "three three three", "four", "five"]
        vectors = await embedder.embed(texts)
    assert embedder.dimension == 384 and embedder.model == "openai:text-embedding-3-small@384"
    assert len(fake.requests) == 3  # batches of 2
    first = fake.requests[0]
    assert first.body == {"model": "text-embedding-3-small", "input": ["one", "two two"],
                          "dimensions": 384, "encoding_format": "float"}
    assert first.headers["authorization"] == "Bearer sk-test-embed"
    for text, vector in zip(texts, vectors, strict=True):  # back in input order, unit length
        expected = np.asarray(fake_vector(text, 384))
        assert np.allclose(vector, expected / np.linalg.norm(expected))


async def test_openai_embedder_errors_are_not_retried() -> None:
    with FakeEmbeddings(fake_vector) as fake:
        fake.fail(429, {"Retry-After": "3"})
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0)
        embedder = OpenAIEmbedder(client, "text-embedding-3-small", 384)
        with pytest.raises(openai.RateLimitError):
            await embedder.embed(["hello"])
        assert len(fake.requests) == 1  # Temporal owns retries
        wrong = OpenAIEmbedder(client, "text-embedding-3-small", 384)
        fake.vectors = lambda text, dims: [1.0] * (dims + 1)
        with pytest.raises(ValueError, match="dimension"):
            await wrong.embed(["hello"])


async def test_build_embedder_from_settings() -> None:
    assert isinstance(build_embedder(ContextSettings()), OnnxMiniLMEmbedder)
    with pytest.raises(ValueError, match="API_KEY"):
        build_embedder(ContextSettings(embedder="openai"))
    with FakeEmbeddings(fake_vector) as fake:
        embedder = build_embedder(ContextSettings(
            embedder="openai", openai_api_key=SecretStr("sk-x"), openai_base_url=fake.base_url,
            openai_model="text-embedding-3-large", openai_dimensions=384))
        assert isinstance(embedder, OpenAIEmbedder)
        [vector] = await embedder.embed(["hi"])
        assert len(vector) == 384 and fake.requests[0].body["model"] == "text-embedding-3-large"
