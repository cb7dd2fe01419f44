"""A tenant's k nearest chunks, correct although pgvector 0.6 filters HNSW results afterwards.

The problem: pgvector 0.6's HNSW scan returns at most ``hnsw.ef_search`` candidates taken from
the whole table, and the tenant predicate is applied to those afterwards; there is no iterative
scan (it came in 0.8) to fetch more. A tenant holding 10% of the chunks gets about ef_search / 10
rows, and a tenant holding 0.1% usually none: plain ``WHERE tenant_id = $1 ORDER BY embedding <=>
$2 LIMIT 5`` silently returns fewer than k rows, or worse ones.

The method, per query (the tenant predicate is in every statement):

1. Count the tenant's chunks that match the filters (btree index, cached ``stats_ttl_seconds``).
2. At most ``exact_search_max_chunks`` of them: exact search. Its ORDER BY is
   ``(embedding <=> q) + 0``, an expression no index can serve, so PostgreSQL reads just the
   tenant's rows through the btree and keeps the top k by true distance.
3. More: HNSW with ``hnsw.ef_search`` raised so that the scan should yield ``hnsw_candidates`` of
   the tenant's rows: ef = candidates x all chunks / tenant's chunks (at least ``ef_search``).
   Those candidates are re-ranked by exact distance and the k best kept. (PostgreSQL may still
   plan this query as btree + sort when it estimates the tenant small: that answer is exact.)
   If the ef needed is above ``ef_search_max`` (1000, pgvector's cap), i.e. the tenant holds
   less than candidates / 1000 (6.4%) of all chunks, the shared index cannot serve it: exact search.
4. An HNSW answer with fewer than k rows is never returned: the search is redone exactly.

Why the HNSW path is right: the tenant's rows within any distance-sorted prefix of the whole
table are exactly the tenant's nearest rows, so if k of them are in the prefix the scan visited,
they are its exact top k. HNSW's candidate list approximates that prefix; its recall@k against
exact search is measured by the tests and ``python -m tests.bench --only context`` (about 0.98
at 100k chunks over 10 tenants). Every path is correct; the cost of the exact ones grows with the
tenant's size (about 30 ms per 10k chunks here). At a scale where a tenant is both large and
under 6.4% of the table, give it a partial HNSW index (``WHERE tenant_id = '...'``, which the
query must then name as a literal) or move to pgvector >= 0.8's iterative scans.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg

from workflows.contracts.agents import ContextItem

Method = Literal["auto", "exact", "hnsw"]


@dataclass(frozen=True)
class Hit:
    """One chunk found, with its document's source, title and link."""

    chunk_id: int
    document_id: int
    ordinal: int
    source: str
    title: str
    url: str | None
    text: str
    tokens: int
    distance: float

    def item(self) -> ContextItem:
        """The hit as the contract's context item (score = cosine similarity)."""
        return ContextItem(source=self.source, title=self.title, url=self.url, text=self.text,
                           score=round(1.0 - self.distance, 6), tokens=self.tokens)


@dataclass(frozen=True)
class SearchTuning:
    """The knobs of the method above (from ContextSettings)."""

    exact_max_chunks: int = 5000
    ef_search: int = 100
    ef_search_max: int = 1000
    candidates: int = 64
    stats_ttl_seconds: float = 30.0


def vector_literal(vector: Iterable[float]) -> str:
    """pgvector's text form of a vector, e.g. ``[0.1,-0.2]``."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _where(project_id: str | None, sources: Sequence[str] | None,
           first: int) -> tuple[str, list[object]]:
    """The filter clause ($1 is the tenant; the optional filters are $first, ...) and their
    arguments."""
    clause, args = "c.tenant_id = $1", list[object]()
    if project_id is not None:
        args.append(project_id)
        clause += f" AND c.project_id = ${first + len(args) - 1}"
    if sources is not None:
        args.append(list(sources))
        clause += f" AND c.source = ANY(${first + len(args) - 1}::text[])"
    return clause, args


def _query(where: str, order: str, nargs: int) -> str:
    """Nearest chunks under ``where`` ordered by ``order``, re-ranked by true distance."""
    fetch, keep = f"${nargs + 1}", f"${nargs + 2}"
    return (
        "SELECT h.id, h.document_id, h.ordinal, h.text, h.tokens, h.distance,"
        " d.source, d.title, d.url FROM ("
        " SELECT c.id, c.document_id, c.ordinal, c.text, c.tokens,"
        " c.embedding <=> $2::vector AS distance FROM context_chunks c"
        f" WHERE {where} ORDER BY {order} LIMIT {fetch}) h"
        " JOIN context_documents d ON d.id = h.document_id"
        f" ORDER BY h.distance, h.id LIMIT {keep}")


class TenantSearch:
    """Filtered k-nearest search over ``context_chunks`` (see the module docstring)."""

    def __init__(self, pool: asyncpg.Pool, tuning: SearchTuning) -> None:
        self._pool = pool
        self._tuning = tuning
        self._counts: dict[tuple[str, str | None, tuple[str, ...] | None],
                           tuple[float, int, int]] = {}
        self.plans: Counter[str] = Counter()  # exact / hnsw / fallback: searches answered by each

    async def nearest(self, tenant_id: str, vector: Sequence[float], k: int = 5, *,
                      project_id: str | None = None, sources: Sequence[str] | None = None,
                      method: Method = "auto") -> list[Hit]:
        """The tenant's ``k`` chunks closest to ``vector`` (cosine), closest first."""
        if k < 1:
            return []
        where, extra = _where(project_id, sources, 3)
        args: list[object] = [tenant_id, vector_literal(vector), *extra]
        ef = 0
        if method != "exact":
            ef = await self._ef_for(tenant_id, project_id, sources, k)
        if method == "hnsw" or (method == "auto" and ef > 0):
            rows = await self._hnsw(where, args, k, max(ef, self._tuning.ef_search))
            if len(rows) >= k:
                self.plans["hnsw"] += 1
                return rows
            self.plans["fallback"] += 1
        else:
            self.plans["exact"] += 1
        order = "(c.embedding <=> $2::vector) + 0"  # no index orders by this: exact
        return await self._fetch(_query(where, order, len(args)), [*args, k, k])

    async def _ef_for(self, tenant_id: str, project_id: str | None,
                      sources: Sequence[str] | None, k: int) -> int:
        """The ef_search the HNSW path needs, or 0 when exact search is the better plan."""
        matching, total = await self._count(tenant_id, project_id, sources)
        if matching <= max(self._tuning.exact_max_chunks, k):
            return 0
        wanted = max(self._tuning.candidates, k)
        ef = max(self._tuning.ef_search, math.ceil(wanted * max(total, matching) / matching))
        return ef if ef <= self._tuning.ef_search_max else 0

    async def _count(self, tenant_id: str, project_id: str | None,
                     sources: Sequence[str] | None) -> tuple[int, int]:
        """Chunks matching the filters, and all chunks (planner and statistics estimates, the
        larger), briefly cached."""
        key = (tenant_id, project_id, tuple(sorted(sources)) if sources is not None else None)
        now = time.monotonic()
        cached = self._counts.get(key)
        if cached is not None and now - cached[0] < self._tuning.stats_ttl_seconds:
            return cached[1], cached[2]
        where, extra = _where(project_id, sources, 2)
        row = await self._pool.fetchrow(
            f"SELECT (SELECT count(*) FROM context_chunks c WHERE {where}) AS matching,"
            " (SELECT greatest(pc.reltuples, s.n_live_tup, 0)::bigint FROM pg_class pc"
            "  LEFT JOIN pg_stat_user_tables s ON s.relid = pc.oid"
            "  WHERE pc.oid = 'context_chunks'::regclass) AS total", tenant_id, *extra)
        assert row is not None
        matching, total = int(row["matching"]), int(row["total"])
        if len(self._counts) > 10_000:
            self._counts.clear()
        self._counts[key] = (now, matching, total)
        return matching, total

    async def _hnsw(self, where: str, args: list[object], k: int, ef: int) -> list[Hit]:
        """The HNSW plan with ``ef`` candidates, re-ranked by exact distance."""
        fetch = max(k, self._tuning.candidates)
        sql = _query(where, "c.embedding <=> $2::vector", len(args))
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
            rows = await conn.fetch(sql, *args, fetch, k)
        return [_hit(r) for r in rows]

    async def _fetch(self, sql: str, args: list[object]) -> list[Hit]:
        """Rows of ``sql`` as hits."""
        return [_hit(r) for r in await self._pool.fetch(sql, *args)]


def _hit(row: asyncpg.Record) -> Hit:
    """A result row as a Hit."""
    return Hit(chunk_id=row["id"], document_id=row["document_id"], ordinal=row["ordinal"],
               source=row["source"], title=row["title"], url=row["url"], text=row["text"],
               tokens=row["tokens"], distance=float(row["distance"]))
