"""Context-engine fixtures: the real ONNX embedder, a pool on the session's migrated database,
unique tenants, and bulk chunks with real vectors for the search-correctness tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import numpy as np
import numpy.typing as npt
import pytest

from infra import database
from infra.context import KnowledgeStore, OnnxMiniLMEmbedder
from infra.context.search import vector_literal
from infra.settings import ContextSettings
from tests.context.corpus import stdlib_paragraphs


class CountingEmbedder:
    """The real embedder, counting the texts it was asked to embed."""

    def __init__(self, inner: OnnxMiniLMEmbedder) -> None:
        self.inner = inner
        self.texts: list[str] = []
        self.dimension = inner.dimension
        self.model = inner.model

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Record and embed."""
        self.texts.extend(texts)
        return await self.inner.embed(texts)


@pytest.fixture(scope="session")
def minilm() -> OnnxMiniLMEmbedder:
    """The offline default embedder, loaded once for the session."""
    return OnnxMiniLMEmbedder()


@pytest.fixture(scope="session")
async def kpool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the session's migrated database (no Temporal needed)."""
    pool = await database.create_pool(pg_url, min_size=1, max_size=6)
    yield pool
    await pool.close()


@pytest.fixture
def embedder(minilm: OnnxMiniLMEmbedder) -> CountingEmbedder:
    """The real embedder behind a counter, fresh per test."""
    return CountingEmbedder(minilm)


@pytest.fixture
def store(kpool: asyncpg.Pool, embedder: CountingEmbedder) -> KnowledgeStore:
    """A knowledge store with the default settings."""
    return KnowledgeStore(kpool, embedder, ContextSettings())


NewTenant = Callable[[], Awaitable[str]]


@pytest.fixture
def new_tenant(kpool: asyncpg.Pool) -> NewTenant:
    """Insert a tenant row with a unique id; return the id."""

    async def make() -> str:
        tenant = f"ctx-{uuid.uuid4().hex[:12]}"
        await kpool.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", tenant)
        return tenant

    return make


@pytest.fixture(scope="session")
def paragraph_vectors(minilm: OnnxMiniLMEmbedder) -> tuple[list[str], npt.NDArray[np.float32]]:
    """600 real paragraphs (every 9th of the standard library's docstrings) and their vectors."""
    texts = [text for _, text in stdlib_paragraphs()[::9][:600]]
    return texts, minilm.embed_sync(texts)


async def insert_chunks(pool: asyncpg.Pool, tenant_id: str, texts: list[str],
                        vectors: npt.NDArray[np.float32], per_document: int = 50) -> list[int]:
    """Store chunks with given vectors straight into the tables; return the chunk ids."""
    ids: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        for start in range(0, len(texts), per_document):
            doc = await conn.fetchval(
                "INSERT INTO context_documents (tenant_id, source, source_key, title, body,"
                " body_sha256, embedding_model) VALUES ($1, 'document', $2, $2, '', '\\x00',"
                " 'bulk') RETURNING id", tenant_id, f"bulk-{uuid.uuid4().hex}")
            part = range(start, min(start + per_document, len(texts)))
            rows = await conn.fetch(
                "INSERT INTO context_chunks (document_id, tenant_id, source, ordinal, text,"
                " tokens, embedding) SELECT $1, $2, 'document', u.o, u.t, 1, u.e::vector"
                " FROM unnest($3::int[], $4::text[], $5::text[]) AS u(o, t, e) RETURNING id",
                doc, tenant_id, list(part), [texts[i] for i in part],
                [vector_literal(vectors[i]) for i in part])
            ids.extend(r["id"] for r in rows)
    return ids


def blend(vectors: npt.NDArray[np.float32], count: int,
          rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """``count`` unit vectors, each the normalised mean of 3 random rows of ``vectors``."""
    picks = rng.integers(0, len(vectors), size=(count, 3))
    mixed = vectors[picks].sum(axis=1)
    out: npt.NDArray[np.float32] = (
        mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)
    return out
