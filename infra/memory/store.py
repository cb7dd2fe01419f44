"""Agent memory: core facts and episodic summaries per (tenant, agent), the one writer of
``agent_memory``.

Every statement names the tenant: a memory id of another tenant is not found, and recall for
one tenant's agent reads only that tenant's rows.

Core facts (key -> value) are what the agent (``memory_remember`` through the gateway) or an
admin set; they come first in every recall. Episodic summaries are what the platform wrote of
earlier sessions; recall ranks them by cosine similarity to the event's text, with the context
engine's embedder. One written without a vector (``add_episodic`` without an embedder, as the
session helper calls it) is embedded by the next recall for its agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import asyncpg

from infra.context.chunking import count_tokens
from infra.context.search import vector_literal
from workflows.contracts.agents import MemoryItem

MemoryType = Literal["core", "episodic"]
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
MAX_VALUE_CHARS = 4000
MAX_EPISODIC_CHARS = 20000
EPISODIC_CANDIDATES = 20  # nearest summaries considered for the budget


class QueryEmbedder(Protocol):
    """What recall needs of an embedder (infra.context.Embedder is one)."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order."""
        ...


class UnknownAgent(LookupError):
    """The tenant has no such agent (memory is per agent)."""


@dataclass(frozen=True)
class MemoryRow:
    """One remembered thing as stored."""

    id: int
    tenant_id: str
    agent_id: str
    type: str
    key: str | None
    value: str
    tokens: int
    session_id: str | None
    written_by: str
    created_at: datetime
    updated_at: datetime

    def item(self) -> MemoryItem:
        """The row as the think input's memory item."""
        return MemoryItem(type="core" if self.type == "core" else "episodic", key=self.key,
                          text=self.value, tokens=self.tokens, id=self.id)


_COLUMNS = ("id, tenant_id, agent_id, type, key, value, tokens, session_id, written_by,"
            " created_at, updated_at")


# One round trip for the common case: the core facts, the episodic rows still without a vector,
# and whether there is any episodic row at all (none: no embedding of the event is needed).
_RECALL_FIRST = """
SELECT e.any_episodic, m.id, m.type, m.key, m.value, m.tokens
FROM (SELECT EXISTS (SELECT 1 FROM agent_memory WHERE tenant_id = $1 AND agent_id = $2
                     AND type = 'episodic') AS any_episodic) e
LEFT JOIN LATERAL (
    SELECT id, type, key, value, tokens FROM agent_memory
    WHERE tenant_id = $1 AND agent_id = $2 AND (type = 'core' OR embedding IS NULL)
    ORDER BY type, key, id) m ON true
ORDER BY m.type, m.key, m.id
"""


def _row(record: asyncpg.Record) -> MemoryRow:
    return MemoryRow(**{k: record[k] for k in MemoryRow.__dataclass_fields__})


def fact_tokens(key: str, value: str) -> int:
    """Tokens of a core fact as the prompt shows it (``key: value``)."""
    return count_tokens(f"{key}: {value}")


async def _agent_exists(conn: asyncpg.Pool | asyncpg.Connection, tenant_id: str,
                        agent_id: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2)",
        tenant_id, agent_id))


async def set_core(pool: asyncpg.Pool, tenant_id: str, agent_id: str, key: str, value: str, *,
                   by: str) -> MemoryRow:
    """Write (or overwrite) the agent's core fact ``key``; ``by`` says who (``agent``,
    ``admin:<user>``). Raises UnknownAgent when the tenant has no such agent."""
    try:
        record = await pool.fetchrow(
            f"INSERT INTO agent_memory (tenant_id, agent_id, type, key, value, tokens,"
            f" written_by) VALUES ($1, $2, 'core', $3, $4, $5, $6)"
            f" ON CONFLICT (tenant_id, agent_id, key) WHERE type = 'core' DO UPDATE"
            f" SET value = EXCLUDED.value, tokens = EXCLUDED.tokens,"
            f" written_by = EXCLUDED.written_by, updated_at = now() RETURNING {_COLUMNS}",
            tenant_id, agent_id, key, value, fact_tokens(key, value), by)
    except asyncpg.ForeignKeyViolationError:
        raise UnknownAgent(f"tenant {tenant_id!r} has no agent {agent_id!r}") from None
    assert record is not None
    return _row(record)


async def add_episodic(pool: asyncpg.Pool, tenant_id: str, agent_id: str, text: str,
                       session_id: str | None, *, embedder: QueryEmbedder | None = None) -> int:
    """Store an episodic summary of the agent's (e.g. a closed session's); return its id.

    Without ``embedder`` the row is embedded by the next recall for this agent. Raises
    UnknownAgent when the tenant has no such agent.
    """
    text = text.strip()[:MAX_EPISODIC_CHARS]
    vector = vector_literal((await embedder.embed([text]))[0]) if embedder and text else None
    try:
        new_id: int = await pool.fetchval(
            "INSERT INTO agent_memory (tenant_id, agent_id, type, value, tokens, session_id,"
            " embedding, written_by) VALUES ($1, $2, 'episodic', $3, $4, $5, $6::vector,"
            " 'platform') RETURNING id",
            tenant_id, agent_id, text, count_tokens(text), session_id, vector)
    except asyncpg.ForeignKeyViolationError:
        raise UnknownAgent(f"tenant {tenant_id!r} has no agent {agent_id!r}") from None
    return new_id


async def list_memory(pool: asyncpg.Pool, tenant_id: str, agent_id: str,
                      kind: MemoryType | None = None, *, limit: int = 100, offset: int = 0
                      ) -> list[MemoryRow]:
    """The agent's memory: core facts by key, then episodic summaries newest first.

    Raises UnknownAgent when the tenant has no such agent (so another tenant's agent is 404).
    """
    async with pool.acquire() as conn:
        if not await _agent_exists(conn, tenant_id, agent_id):
            raise UnknownAgent(f"tenant {tenant_id!r} has no agent {agent_id!r}")
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM agent_memory WHERE tenant_id = $1 AND agent_id = $2"
            " AND ($3::text IS NULL OR type = $3)"
            " ORDER BY type, key, created_at DESC, id DESC LIMIT $4 OFFSET $5",
            tenant_id, agent_id, kind, limit, offset)
    return [_row(r) for r in rows]


async def delete_memory(pool: asyncpg.Pool, tenant_id: str, agent_id: str, memory_id: int
                        ) -> bool:
    """Forget one remembered thing of the agent; False when the tenant's agent has no such id
    (another tenant's or agent's memory is not found either)."""
    status = await pool.execute(
        "DELETE FROM agent_memory WHERE tenant_id = $1 AND agent_id = $2 AND id = $3",
        tenant_id, agent_id, memory_id)
    return bool(status != "DELETE 0")


async def delete_core(pool: asyncpg.Pool, tenant_id: str, agent_id: str, key: str) -> bool:
    """Forget the agent's core fact ``key``; False when there was none."""
    status = await pool.execute(
        "DELETE FROM agent_memory WHERE tenant_id = $1 AND agent_id = $2 AND type = 'core'"
        " AND key = $3", tenant_id, agent_id, key)
    return bool(status != "DELETE 0")


async def recall(pool: asyncpg.Pool, embedder: QueryEmbedder | None, tenant_id: str,
                 agent_id: str, text: str, token_budget: int) -> list[MemoryItem]:
    """What the agent remembers that fits ``token_budget`` tokens: its core facts first (by
    key; a fact too big for what is left is passed over), then the episodic summaries most
    similar to ``text`` (none without an embedder or a text)."""
    if token_budget <= 0:
        return []
    rows = await pool.fetch(_RECALL_FIRST, tenant_id, agent_id)
    core = [r for r in rows if r["type"] == "core"]
    kept, used = _fit(core, token_budget)
    if not rows[0]["any_episodic"] or embedder is None or not text.strip() \
            or used >= token_budget:
        return kept
    bare = [r for r in rows if r["type"] == "episodic"]  # written without a vector
    vectors = await embedder.embed([text, *(r["value"] or " " for r in bare)])
    if bare:
        await pool.executemany(
            "UPDATE agent_memory SET embedding = $3::vector WHERE tenant_id = $1 AND id = $2"
            " AND embedding IS NULL",
            [(tenant_id, r["id"], vector_literal(v)) for r, v in zip(bare, vectors[1:],
                                                                     strict=True)])
    vector = vector_literal(vectors[0])
    nearest = await pool.fetch(
        "SELECT id, type, key, value, tokens FROM agent_memory WHERE tenant_id = $1"
        " AND agent_id = $2 AND type = 'episodic' AND embedding IS NOT NULL"
        " ORDER BY embedding <=> $3::vector, id DESC LIMIT $4",
        tenant_id, agent_id, vector, EPISODIC_CANDIDATES)
    more, _ = _fit(nearest, token_budget - used)
    return kept + more


def _fit(rows: Sequence[asyncpg.Record], budget: int) -> tuple[list[MemoryItem], int]:
    """The rows, in order, that fit ``budget`` tokens (one too big is passed over)."""
    kept: list[MemoryItem] = []
    used = 0
    for r in rows:
        if used + r["tokens"] > budget:
            continue
        kept.append(MemoryItem(type=r["type"], key=r["key"], text=r["value"], tokens=r["tokens"],
                               id=r["id"]))
        used += r["tokens"]
    return kept, used

