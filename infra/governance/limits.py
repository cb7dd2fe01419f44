"""The circuit breaker: sliding-window limits on agents' writes and projects' sync events.

An agent's writes are every gateway intent that creates or changes something at the remote
(messages, comments, issues, tasks, pushes: ``Intent.writes``), logged under kind ``message``
with the intent's name, so that one rate holds them all and a tenant may hold some intents to a
lower one.

Several gateway workers check the same agent at once, so the count and the insert must not
interleave. Each check runs in one transaction that first takes a transaction-level advisory
lock on (tenant, kind, subject), then counts. In READ COMMITTED every statement takes a new
snapshot, so the count, made after the lock is granted, sees every row a previous holder
committed; the lock is released by that same commit. Different agents never wait for each
other (unless their keys collide in ``hashtext``, which only serialises them).

Time is the database's clock (``clock_timestamp()`` after the lock), one clock for every worker;
tests pass ``now`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg

from infra.governance import tenant_limits
from infra.governance.tenant_limits import Limits
from infra.governance.verdict import (
    MESSAGE_WINDOW,
    SYNC_WINDOW,
    Verdict,
    Window,
    judge_message,
    judge_sync_event,
    message_hash,
)

# Advisory-lock class of the breaker (two-int form, so it cannot meet a bigint lock such as
# the migration lock).
_LOCK_CLASS = 0x5B0A_0007

_LOCK_AND_LIMITS = (
    "SELECT l.messages_per_minute, l.sync_events_per_hour, l.duplicate_window_seconds,"
    " l.intents"
    " FROM (SELECT pg_advisory_xact_lock($1, hashtext($2 || '/' || $3 || '/' || $4))) AS lock"
    " LEFT JOIN tenant_limits l ON l.tenant_id = $2")

# $1 tenant, $2 kind, $3 subject, $4 now or NULL, $5 rate window, $6 limit, $7 retention,
# $8 message hash or NULL, $9 duplicate window, $10 idempotency key or NULL, $11 the intent
# held to a limit of its own or NULL, $12 that limit.
_WINDOW = (
    "WITH t AS MATERIALIZED (SELECT COALESCE($4::timestamptz, clock_timestamp()) AS ts),"
    " pruned AS (DELETE FROM breaker_log b USING t WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.at <= t.ts - $7::interval)"
    " SELECT t.ts,"
    " (SELECT count(*) FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.at > t.ts - $5::interval) AS counted,"
    " (SELECT b.at FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.at > t.ts - $5::interval"
    "  ORDER BY b.at DESC OFFSET $6::int - 1 LIMIT 1) AS nth_newest,"
    " (SELECT max(b.at) FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.message_hash = $8 AND b.at > t.ts - $9::interval)"
    "  AS duplicate_at,"
    " EXISTS (SELECT 1 FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.idempotency_key = $10 AND b.at > t.ts - $7::interval) AS seen,"
    " (SELECT count(*) FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.intent = $11 AND b.at > t.ts - $5::interval) AS intent_counted,"
    " (SELECT b.at FROM breaker_log b WHERE b.tenant_id = $1 AND b.kind = $2"
    "  AND b.subject = $3 AND b.intent = $11 AND b.at > t.ts - $5::interval"
    "  ORDER BY b.at DESC OFFSET $12::int - 1 LIMIT 1) AS intent_nth_newest"
    " FROM t")

_UNCOUNT = ("DELETE FROM breaker_log WHERE tenant_id = $1 AND kind = $2 AND subject = $3"
            " AND idempotency_key = $4")

_RECORD = ("INSERT INTO breaker_log (tenant_id, kind, subject, at, message_hash,"
           " idempotency_key, intent) VALUES ($1, $2, $3, $4, $5, $6, $7)")


class CircuitBreaker:
    """Decides whether an agent may write (send a message, open an issue, push...) now, or a
    project sync another event.

    An allowed call is recorded and counts against later ones; a refused one is not recorded,
    and a write that was not delivered is withdrawn by the caller (``uncount_message``).
    A call with an idempotency ``key`` already counted (a retry of the same gateway call) is
    allowed again without counting twice, so a Temporal retry is never taken for a stuck agent.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def check_write(self, tenant_id: str, agent_id: str, intent: str | None,
                          text: str | None = None, now: datetime | None = None, *,
                          key: str | None = None, destination: str = "") -> Verdict:
        """At most N writes per agent per minute (fewer for an intent the tenant limited);
        the same text to the same place twice is a stuck agent.

        ``text`` is the message a write carries (None for an issue, task or push: no duplicate
        rule). An allowed write is counted at once (``Verdict.counted``), so that two workers
        cannot both let it through; if it is then not delivered, withdraw it with
        ``uncount_message``: only what reached its destination counts.
        """
        _require_aware(now)
        digest = None if text is None else message_hash(text, destination)
        async with self._pool.acquire() as conn, conn.transaction():
            limits = await self._lock(conn, tenant_id, "message", agent_id)
            dup = timedelta(seconds=limits.duplicate_window_seconds)
            own = intent if intent is not None and intent in limits.intents else None
            window = await self._window(conn, tenant_id, "message", agent_id, now,
                                        MESSAGE_WINDOW, limits.messages_per_minute,
                                        max(MESSAGE_WINDOW, dup), digest, dup, key,
                                        own, limits.per_minute(own))
            verdict, record = judge_message(window, limits, agent_id, own)
            if record:
                await conn.execute(_RECORD, tenant_id, "message", agent_id, window.now, digest,
                                   key, intent)
        return verdict

    async def check_message(self, tenant_id: str, agent_id: str, text: str,
                            now: datetime | None = None, *, key: str | None = None,
                            destination: str = "", intent: str | None = None) -> Verdict:
        """``check_write`` for a write that carries ``text``."""
        return await self.check_write(tenant_id, agent_id, intent, text, now, key=key,
                                      destination=destination)

    async def uncount_message(self, tenant_id: str, agent_id: str, key: str) -> None:
        """Withdraw the write counted under ``key``: it was refused or failed at the remote."""
        await self._pool.execute(_UNCOUNT, tenant_id, "message", agent_id, key)

    async def check_sync_event(self, tenant_id: str, project_id: str,
                               now: datetime | None = None, *, key: str | None = None
                               ) -> Verdict:
        """At most N sync events per project per hour."""
        _require_aware(now)
        async with self._pool.acquire() as conn, conn.transaction():
            limits = await self._lock(conn, tenant_id, "sync", project_id)
            window = await self._window(conn, tenant_id, "sync", project_id, now, SYNC_WINDOW,
                                        limits.sync_events_per_hour, SYNC_WINDOW, None,
                                        timedelta(0), key, None, 1)
            verdict, record = judge_sync_event(window, limits, project_id)
            if record:
                await conn.execute(_RECORD, tenant_id, "sync", project_id, window.now, None, key,
                                   None)
        return verdict

    async def get_limits(self, tenant_id: str) -> Limits:
        """The tenant's limits (the defaults when it has set none)."""
        return await tenant_limits.get_limits(self._pool, tenant_id)

    async def set_limits(self, tenant_id: str, *, messages_per_minute: int | None = None,
                         sync_events_per_hour: int | None = None,
                         duplicate_window_seconds: int | None = None,
                         intents: Mapping[str, int] | None = None) -> Limits:
        """Change some of a tenant's limits (None keeps the current value); return all.

        ``intents`` (per-intent writes a minute) replaces the tenant's map as a whole.
        """
        return await tenant_limits.set_limits(
            self._pool, tenant_id, messages_per_minute=messages_per_minute,
            sync_events_per_hour=sync_events_per_hour,
            duplicate_window_seconds=duplicate_window_seconds, intents=intents)

    async def reset_limits(self, tenant_id: str) -> bool:
        """Return a tenant to the defaults; False if it had none of its own."""
        return await tenant_limits.reset_limits(self._pool, tenant_id)

    @staticmethod
    async def _lock(conn: asyncpg.Connection, tenant_id: str, kind: str, subject: str
                    ) -> Limits:
        return tenant_limits.from_row(
            await conn.fetchrow(_LOCK_AND_LIMITS, _LOCK_CLASS, tenant_id, kind, subject))

    @staticmethod
    async def _window(conn: asyncpg.Connection, tenant_id: str, kind: str, subject: str,
                      now: datetime | None, span: timedelta, limit: int, retention: timedelta,
                      digest: bytes | None, dup: timedelta, key: str | None,
                      intent: str | None, intent_limit: int) -> Window:
        row = await conn.fetchrow(_WINDOW, tenant_id, kind, subject, now, span, limit,
                                  retention, digest, dup, key, intent, intent_limit)
        assert row is not None
        return Window(now=row["ts"], counted=row["counted"], nth_newest=row["nth_newest"],
                      duplicate_at=row["duplicate_at"], seen=row["seen"],
                      intent_counted=row["intent_counted"],
                      intent_nth_newest=row["intent_nth_newest"])


def _require_aware(now: datetime | None) -> None:
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
