"""The durable inbox and the events the pipeline makes of it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
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


@dataclass
class _Delivery:
    tenant_id: str
    provider: str
    dedup_key: str
    event_name: str | None
    body: bytes
    stored: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, result: int | Exception | None) -> None:
        if self.stored.done():  # the caller went away; its row is written all the same
            return
        if isinstance(result, BaseException):
            self.stored.set_exception(result)
        else:
            self.stored.set_result(result)


# Errors that mean the database (or the way to it) is away, not that a row is wrong: a batch
# that fails with one of these is answered as a whole, since writing its rows one by one would
# only knock on a closed door once per row.
_CONNECTION_LOST = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                    asyncpg.CannotConnectNowError)


class InboxWriter:
    """Commits deliveries to the inbox, grouping the ones that arrive together (group commit).

    A delivery is written at once while a lane is free. Deliveries that arrive while every lane
    is busy wait for one and then go together, in one INSERT. Each caller is answered only after
    the statement carrying its row has committed, so nothing is acknowledged that is not stored.
    Idle, this adds nothing; under load, a batch shares one round trip, one commit and one pool
    checkout. A batch that fails for any reason but a lost connection (a redelivery, a tenant
    gone, a value PostgreSQL refuses) is retried row by row, so one bad row fails alone and every
    caller gets its own answer: its id, None, or the exception its own row raised.
    """

    def __init__(self, pool: asyncpg.Pool, *, lanes: int = 2, max_batch: int = 64) -> None:
        self._pool = pool
        self._lanes = lanes
        self._max_batch = max_batch
        self._waiting: list[_Delivery] = []
        self._busy = 0
        self._drains: set[asyncio.Task[None]] = set()

    async def insert(self, tenant_id: str, provider: str, dedup_key: str,
                     event_name: str | None, body: bytes) -> int | None:
        """Commit a delivery; its id, or None when it was stored before (a redelivery)."""
        delivery = _Delivery(tenant_id, provider, dedup_key, event_name, body)
        self._waiting.append(delivery)
        if self._busy < self._lanes:
            self._busy += 1
            drain = asyncio.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await delivery.stored

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._write(batch)
        finally:
            self._busy -= 1

    async def _write(self, batch: list[_Delivery]) -> None:
        try:
            if len(batch) == 1:
                await self._write_each(batch)
                return
            try:
                rows = await self._pool.fetch(
                    "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body)"
                    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
                    " $5::bytea[]) RETURNING id, tenant_id, provider, dedup_key",
                    [d.tenant_id for d in batch], [d.provider for d in batch],
                    [d.dedup_key for d in batch], [d.event_name for d in batch],
                    [d.body for d in batch],
                )
            except _CONNECTION_LOST as exc:  # the database is away: every caller hears it (503)
                for d in batch:
                    d.settle(exc)
                return
            except Exception:  # some row is refused; find which, and answer each on its own
                await self._write_each(batch)
                return
            ids = {(r["tenant_id"], r["provider"], r["dedup_key"]): r["id"] for r in rows}
            for d in batch:
                d.settle(ids[(d.tenant_id, d.provider, d.dedup_key)])
        except asyncio.CancelledError:  # shutting down mid-write
            for d in batch:
                d.stored.cancel()
            raise
        except Exception as exc:  # never leave a caller waiting (settle skips the answered)
            for d in batch:
                d.settle(exc)

    async def _write_each(self, batch: list[_Delivery]) -> None:
        for at, d in enumerate(batch):
            try:
                d.settle(await insert_delivery(self._pool, d.tenant_id, d.provider, d.dedup_key,
                                               d.event_name, d.body))
            except _CONNECTION_LOST as exc:  # this row and the ones after it: 503, no retries
                for rest in batch[at:]:
                    rest.settle(exc)
                return
            except Exception as exc:  # this row's own failure (a bad value, a tenant gone)
                d.settle(exc)


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
    """Upsert what the pipeline made of an inbox row (idempotent: retries write the same)."""
    await pool.execute(
        "INSERT INTO events (inbox_id, tenant_id, status, kind, reason, event, agent_ids, outcomes)"
        " SELECT id, tenant_id, $2, $3, $4, $5, $6, $7 FROM inbox WHERE id = $1"
        " ON CONFLICT (inbox_id) DO UPDATE SET status = EXCLUDED.status,"
        " kind = COALESCE(EXCLUDED.kind, events.kind),"
        " reason = COALESCE(EXCLUDED.reason, events.reason),"
        " event = COALESCE(EXCLUDED.event, events.event),"
        " agent_ids = EXCLUDED.agent_ids, outcomes = EXCLUDED.outcomes, updated_at = now()",
        inbox_id, status.value, kind, reason, event, agent_ids, outcomes,
    )


_EVENT_COLUMNS = (
    "i.id, i.provider, i.dedup_key, i.event_name, i.received_at, i.relayed_at,"
    " COALESCE(e.status, 'received') AS status, e.kind, e.reason, e.agent_ids, e.outcomes,"
    " e.event, e.updated_at"
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
) -> list[dict[str, Any]]:
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
    return [dict(r) for r in rows]


async def get_event(pool: asyncpg.Pool, tenant_id: str, inbox_id: int) -> dict[str, Any] | None:
    """One of a tenant's events, or None."""
    row = await pool.fetchrow(
        f"SELECT {_EVENT_COLUMNS} FROM inbox i LEFT JOIN events e ON e.inbox_id = i.id"
        " WHERE i.tenant_id = $1 AND i.id = $2",
        tenant_id, inbox_id,
    )
    return dict(row) if row is not None else None
