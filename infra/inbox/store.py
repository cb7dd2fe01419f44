"""The inbox table (the durable deliveries) and the events the pipeline makes of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from workflows.contracts import EventStatus


@dataclass(frozen=True)
class PendingDelivery:
    """An inbox row whose workflow has not been started yet."""

    id: int
    tenant_id: str
    provider: str
    dedup_key: str


@dataclass(frozen=True)
class EventRecord:
    """An inbox row with what became of it (its events row, when there is one)."""

    id: int
    provider: str
    dedup_key: str
    event_name: str | None
    received_at: datetime
    relayed_at: datetime | None
    status: str
    kind: str | None
    reason: str | None
    agent_ids: list[str] | None
    outcomes: list[dict[str, Any]] | None
    event: dict[str, Any] | None
    updated_at: datetime | None
    replay_of: int | None
    replays: list[int]
    pruned: bool = False  # retention dropped its body and normalized event (a tombstone)


async def insert_delivery(
    conn: asyncpg.Connection | asyncpg.Pool,
    tenant_id: str,
    provider: str,
    dedup_key: str,
    event_name: str | None,
    body: bytes,
) -> int | None:
    """Commit a delivery; return its id, or None when this delivery was stored before.

    A plain insert whose unique violation marks the redelivery: cheaper on the hot path than
    ``ON CONFLICT DO NOTHING`` (no speculative insertion), and redeliveries are rare.
    """
    try:
        value: int = await conn.fetchval(
            "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            tenant_id, provider, dedup_key, event_name, body,
        )
    except asyncpg.UniqueViolationError:
        return None
    return value


async def insert_deliveries(
    pool: asyncpg.Pool, rows: list[tuple[str, str, str, str | None, bytes]]
) -> dict[tuple[str, str, str], int]:
    """Commit several deliveries in one INSERT; their ids by (tenant, provider, dedup key).

    All or nothing: a redelivery or a refused value among them fails the whole statement.
    """
    columns = (list(c) for c in zip(*rows, strict=True))
    tenant_ids, providers, dedup_keys, event_names, bodies = columns
    stored = await pool.fetch(
        "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::bytea[]) RETURNING id, tenant_id, provider, dedup_key",
        tenant_ids, providers, dedup_keys, event_names, bodies,
    )
    return {(r["tenant_id"], r["provider"], r["dedup_key"]): r["id"] for r in stored}



async def claim_pending(conn: asyncpg.Connection, limit: int) -> list[PendingDelivery]:
    """Lock up to ``limit`` unrelayed rows, oldest first, skipping rows another relay holds."""
    rows = await conn.fetch(
        "SELECT id, tenant_id, provider, dedup_key FROM inbox WHERE relayed_at IS NULL"
        " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [PendingDelivery(**dict(r)) for r in rows]


async def mark_relayed(conn: asyncpg.Connection, ids: list[int]) -> None:
    """Record that these rows' workflows exist."""
    await conn.execute("UPDATE inbox SET relayed_at = now() WHERE id = ANY($1::bigint[])", ids)


async def load_delivery(pool: asyncpg.Pool, inbox_id: int) -> asyncpg.Record | None:
    """The stored delivery (tenant, provider, event name, raw body)."""
    return await pool.fetchrow(
        "SELECT id, tenant_id, provider, event_name, body FROM inbox WHERE id = $1", inbox_id
    )


# The row's outcomes of other agents, then the new ones (EXCLUDED: the row the insert proposed).
_MERGED = (
    "(SELECT COALESCE(jsonb_agg(o), '[]'::jsonb) FROM jsonb_array_elements(events.outcomes) o"
    " WHERE o->>'agent_id' NOT IN (SELECT x->>'agent_id'"
    " FROM jsonb_array_elements(EXCLUDED.outcomes) x)) || EXCLUDED.outcomes"
)


async def record_event(
    pool: asyncpg.Pool,
    inbox_id: int,
    status: EventStatus,
    *,
    kind: str | None,
    reason: str | None,
    event: dict[str, Any] | None,
    agent_ids: list[str],
    outcomes: list[dict[str, Any]],
) -> None:
    """Upsert what the pipeline made of an inbox row (idempotent: retries write the same).

    ``outcomes`` are merged by agent: one given replaces that agent's, the others stay (a
    session writes its agent's outcome to the row on its own: ``record_agent_outcome``).
    ``dispatched_at`` is set by the first write that says dispatched, and kept."""
    await pool.execute(
        "INSERT INTO events (inbox_id, tenant_id, status, kind, reason, event, agent_ids, outcomes,"
        " dispatched_at)"
        " SELECT id, tenant_id, $2, $3, $4, $5, $6, $7,"
        " CASE WHEN $2 = 'dispatched' THEN now() END FROM inbox WHERE id = $1"
        " ON CONFLICT (inbox_id) DO UPDATE SET status = EXCLUDED.status,"
        " dispatched_at = COALESCE(events.dispatched_at, EXCLUDED.dispatched_at),"
        " kind = COALESCE(EXCLUDED.kind, events.kind),"
        " reason = COALESCE(EXCLUDED.reason, events.reason),"
        " event = COALESCE(EXCLUDED.event, events.event),"
        f" agent_ids = EXCLUDED.agent_ids, outcomes = {_MERGED}, updated_at = now()",
        inbox_id, status.value, kind, reason, event, agent_ids, outcomes,
    )


async def record_agent_outcome(pool: asyncpg.Pool | asyncpg.Connection, inbox_id: int,
                               outcome: dict[str, Any]) -> None:
    """Put one agent's outcome on an event's row (its other agents' stay; idempotent). The row
    is made, as dispatched, if the event's own record of the dispatch has not landed yet."""
    await pool.execute(
        "INSERT INTO events (inbox_id, tenant_id, status, outcomes, dispatched_at)"
        " SELECT id, tenant_id, 'dispatched', jsonb_build_array($2::jsonb), now() FROM inbox"
        " WHERE id = $1"
        f" ON CONFLICT (inbox_id) DO UPDATE SET outcomes = {_MERGED}, updated_at = now()",
        inbox_id, outcome,
    )


_EVENT_COLUMNS = (
    "i.id, i.provider, i.dedup_key, i.event_name, i.received_at, i.relayed_at,"
    " COALESCE(e.status, 'received') AS status, e.kind, e.reason, e.agent_ids, e.outcomes,"
    " e.event, e.updated_at, i.replay_of,"
    " ARRAY(SELECT r.id FROM inbox r WHERE r.replay_of = i.id ORDER BY r.id) AS replays,"
    " i.body IS NULL AS pruned"
)


async def list_events(
    pool: asyncpg.Pool,
    tenant_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    provider: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[EventRecord]:
    """A tenant's events, newest first, filtered; page with ``before_id``."""
    rows = await pool.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM inbox i LEFT JOIN events e ON e.inbox_id = i.id"
        " WHERE i.tenant_id = $1"
        " AND ($2::text IS NULL OR COALESCE(e.status, 'received') = $2)"
        " AND ($3::text IS NULL OR e.kind = $3)"
        " AND ($4::text IS NULL OR i.provider = $4)"
        " AND ($5::bigint IS NULL OR i.id < $5)"
        " ORDER BY i.id DESC LIMIT $6",
        tenant_id, status, kind, provider, before_id, limit,
    )
    return [EventRecord(**dict(r)) for r in rows]


async def get_event(pool: asyncpg.Pool, tenant_id: str, inbox_id: int) -> EventRecord | None:
    """One of a tenant's events, or None."""
    row = await pool.fetchrow(
        f"SELECT {_EVENT_COLUMNS} FROM inbox i LEFT JOIN events e ON e.inbox_id = i.id"
        " WHERE i.tenant_id = $1 AND i.id = $2",
        tenant_id, inbox_id,
    )
    return EventRecord(**dict(row)) if row is not None else None


@dataclass(frozen=True)
class ReplayFilter:
    """Which of a tenant's events a bulk replay takes, oldest first, at most ``limit``."""

    status: str | None = None
    kind: str | None = None
    provider: str | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    limit: int = 100


@dataclass(frozen=True)
class Replay:
    """An inbox row (``event_id``) and the row that replays it (``replay_id``)."""

    event_id: int
    replay_id: int
    provider: str
    dedup_key: str


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay request made; ``repeated``: its key had made them before, nothing new."""

    replays: list[Replay]
    repeated: bool


_MATCHING = (
    " FROM inbox i LEFT JOIN events e ON e.inbox_id = i.id WHERE i.tenant_id = $1"
    " AND ($2::text IS NULL OR COALESCE(e.status, 'received') = $2)"
    " AND ($3::text IS NULL OR e.kind = $3)"
    " AND ($4::text IS NULL OR i.provider = $4)"
    " AND ($5::timestamptz IS NULL OR i.received_at > $5)"
    " AND ($6::timestamptz IS NULL OR i.received_at < $6)"
    " AND ($7::bigint IS NULL OR i.id = $7)"
    " AND i.body IS NOT NULL"  # a pruned delivery (retention) has nothing to replay
    " ORDER BY i.id LIMIT $8"
)


def _matching_args(tenant_id: str, match: ReplayFilter, event_id: int | None) -> list[Any]:
    return [tenant_id, match.status, match.kind, match.provider, match.received_after,
            match.received_before, event_id, match.limit]


async def matching_events(pool: asyncpg.Pool, tenant_id: str, match: ReplayFilter) -> list[int]:
    """The ids a bulk replay with this filter would take now (a dry run: nothing is written)."""
    rows = await pool.fetch(f"SELECT i.id {_MATCHING}", *_matching_args(tenant_id, match, None))
    return [r["id"] for r in rows]


async def replay(
    pool: asyncpg.Pool, tenant_id: str, key: str, *,
    event_id: int | None = None, match: ReplayFilter | None = None,
) -> ReplayOutcome:
    """Store one event (``event_id``) or the matching ones again as new rows, in one transaction.

    Each new row carries the stored delivery (provider, event name, raw body), ``replay_of`` and
    ``replay_key``; the relay then runs it like any delivery. Requests with one key are taken
    one at a time (an advisory lock on tenant and key), and a key that has replayed before
    answers with what it replayed and writes nothing: a retried request replays once.
    """
    args = _matching_args(tenant_id, match or ReplayFilter(limit=1), event_id)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           f"replay/{tenant_id}/{key}")
        before = await conn.fetch(
            "SELECT replay_of AS event_id, id AS replay_id, provider, dedup_key FROM inbox"
            " WHERE tenant_id = $1 AND replay_key = $2 ORDER BY replay_of", tenant_id, key)
        if before:
            return ReplayOutcome([Replay(**dict(r)) for r in before], repeated=True)
        made = await conn.fetch(
            "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body, replay_of,"
            " replay_key) SELECT i.tenant_id, i.provider, 'replay:' || i.id || ':' || $9,"
            f" i.event_name, i.body, i.id, $9 {_MATCHING} ON CONFLICT DO NOTHING"
            " RETURNING replay_of AS event_id, id AS replay_id, provider, dedup_key",
            *args, key)
    return ReplayOutcome(sorted((Replay(**dict(r)) for r in made), key=lambda r: r.event_id),
                         repeated=False)


# The next rows after the newest pruned one (inbox_pruned holds only pruned rows, so the hot
# insert never updates it); those past the window and relayed lose their body and event.
_PRUNE_BATCH = """
WITH next AS (SELECT id, received_at, relayed_at FROM inbox WHERE tenant_id = $1 AND id > $2
              ORDER BY id LIMIT $4),
due AS (SELECT id FROM next WHERE received_at < $3 AND relayed_at IS NOT NULL),
tomb AS (UPDATE events SET event = NULL WHERE inbox_id = ANY(ARRAY(SELECT id FROM due))),
pruned AS (UPDATE inbox SET body = NULL WHERE id = ANY(ARRAY(SELECT id FROM due)) RETURNING id)
SELECT (SELECT count(*) FROM pruned) AS pruned, (SELECT count(*) FROM next) AS seen,
       (SELECT max(id) FROM next) AS last, (SELECT count(*) FROM next WHERE received_at >= $3)
       AS recent
"""


async def prune_bodies(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int) -> int:
    """Drop the bodies of a tenant's deliveries received before ``before``; return how many.

    Retention: the inbox row and its events row stay as the tombstone (status, kind, reason,
    agents, outcomes, times); the raw body and the normalized event go. Walks the tenant's rows
    in id order from the newest pruned one, ``batch`` rows a statement, and stops at the first
    row inside the window (ids grow with ``received_at``), so a pass reads only what it prunes
    and one batch more. A row not relayed yet is left alone.
    """
    after: int = await pool.fetchval(
        "SELECT coalesce(max(id), 0) FROM inbox WHERE tenant_id = $1 AND body IS NULL", tenant_id)
    total = 0
    while True:
        row = await pool.fetchrow(_PRUNE_BATCH, tenant_id, after, before, batch)
        total += int(row["pruned"])
        if row["recent"] or row["seen"] < batch:
            return total
        after = row["last"]
