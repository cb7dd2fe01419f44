"""Tenant-filtered search stays correct where pgvector 0.6's filtered HNSW scan comes up short."""

from __future__ import annotations

import asyncpg
import numpy as np
import numpy.typing as npt
import pytest

from infra.context import KnowledgeStore
from infra.context.search import Method, _query, _where, vector_literal
from infra.settings import ContextSettings
from tests.context.conftest import CountingEmbedder, NewTenant, blend, insert_chunks

Paragraphs = tuple[list[str], npt.NDArray[np.float32]]

PLAIN = ("SELECT id FROM context_chunks WHERE tenant_id = $1"
         " ORDER BY embedding <=> $2::vector LIMIT 5")


@pytest.fixture(scope="module")
async def crowd(kpool: asyncpg.Pool, paragraph_vectors: Paragraphs) -> dict[str, object]:
    """A big tenant (4,000 chunks), a mid one (800) and a small one (12), real vectors."""
    _, vectors = paragraph_vectors
    rng = np.random.default_rng(7)
    tenants = {}
    for name, count in (("big", 4000), ("mid", 800), ("small", 12)):
        tenant = f"ctx-search-{name}-{rng.integers(1 << 30)}"
        await kpool.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", tenant)
        mixed = vectors[:count] if name == "small" else blend(vectors[:500], count, rng)
        await insert_chunks(kpool, tenant, [f"{name} {i}" for i in range(count)], mixed)
        tenants[name] = tenant
    await kpool.execute("ANALYZE context_chunks")
    queries = vectors[500:560]  # held out: no chunk was made from them
    return {"tenants": tenants, "queries": queries}


def settings() -> ContextSettings:
    """Settings with a low exact-search threshold, so the mid tenant takes the HNSW path."""
    return ContextSettings(exact_search_max_chunks=200, stats_ttl_seconds=0)


async def exact_ids(store: KnowledgeStore, tenant: str, query: npt.NDArray[np.float32],
                    k: int = 5) -> list[int]:
    """The ids of the true top k."""
    return [h.chunk_id for h in await store.nearest(tenant, query.tolist(), k, method="exact")]


async def test_plain_filtered_hnsw_returns_fewer_than_k_for_a_small_tenant(
        kpool: asyncpg.Pool, crowd: dict[str, object]) -> None:
    """The failure this module guards against, shown on the real index."""
    tenants, queries = crowd["tenants"], crowd["queries"]
    assert isinstance(tenants, dict) and isinstance(queries, np.ndarray)
    short = 0
    async with kpool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL hnsw.ef_search = 40")
        for setting in ("enable_bitmapscan", "enable_seqscan", "enable_sort"):
            await conn.execute(f"SET LOCAL {setting} = off")  # the plan a bigger tenant gets
        for query in queries[:20]:
            plan = await conn.fetch("EXPLAIN " + PLAIN, tenants["small"],
                                    vector_literal(query))
            assert "Index Scan using context_chunks_embedding" in str(plan)
            rows = await conn.fetch(PLAIN, tenants["small"], vector_literal(query))
            short += len(rows) < 5
    assert short >= 15  # 12 of ~4,800 rows: the 40 candidates rarely hold 5 of them


async def test_small_tenant_gets_the_exact_top_k(
        kpool: asyncpg.Pool, embedder: CountingEmbedder, crowd: dict[str, object]) -> None:
    tenants, queries = crowd["tenants"], crowd["queries"]
    assert isinstance(tenants, dict) and isinstance(queries, np.ndarray)
    store = KnowledgeStore(kpool, embedder, settings())
    for query in queries[:20]:
        methods: tuple[Method, ...] = ("auto", "hnsw")  # hnsw forced: exact plan or redone
        for method in methods:
            hits = await store.nearest(tenants["small"], query.tolist(), 5, method=method)
            assert [h.chunk_id for h in hits] == await exact_ids(store, tenants["small"], query)
    assert store.plans["exact"] >= 20


async def test_large_tenant_hnsw_path_recall_against_exact(
        kpool: asyncpg.Pool, embedder: CountingEmbedder, crowd: dict[str, object]) -> None:
    tenants, queries = crowd["tenants"], crowd["queries"]
    assert isinstance(tenants, dict) and isinstance(queries, np.ndarray)
    store = KnowledgeStore(kpool, embedder, settings())
    found = total = 0
    for query in queries:
        for name in ("mid", "big"):
            hits = await store.nearest(tenants[name], query.tolist(), 5)
            assert len(hits) == 5 and all(h.text.startswith(name) for h in hits)
            truth = await exact_ids(store, tenants[name], query)
            found += len({h.chunk_id for h in hits} & set(truth))
            total += 5
    assert store.plans["hnsw"] >= len(queries)  # the HNSW path answered, never short
    assert found / total >= 0.95, f"recall@5 {found / total:.3f}"
    sql = _query(_where(None, None, 3)[0], "c.embedding <=> $2::vector", 2)
    for name in ("mid", "big"):  # and PostgreSQL did run it on the HNSW index
        async with kpool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL hnsw.ef_search = 400")
            plan = await conn.fetch("EXPLAIN " + sql, tenants[name],
                                    vector_literal(queries[0]), 40, 5)
        assert "Index Scan using context_chunks_embedding" in str(plan)


async def test_project_and_source_filters_are_exact_too(
        store: KnowledgeStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    await store.add_document(tenant, "a", "readme", "a", "A README", None, "Install with pip")
    await store.add_document(tenant, "b", "readme", "b", "B README", None, "Install with npm")
    await store.add_document(tenant, "a", "clickup_task", "t", "Task", None, "Install docs")
    hits = await store.search(tenant, "install", project_id="b")
    assert [h.title for h in hits] == ["B README"]
    hits = await store.search(tenant, "install", project_id="a", sources=["readme"])
    assert [h.title for h in hits] == ["A README"]
    assert await store.search(tenant, "install", sources=["summary"]) == []
