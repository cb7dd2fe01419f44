"""The alerts table: what admins must hear about, stored once per (tenant, kind, subject)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from infra.database import delete_in_batches


@dataclass(frozen=True)
class AlertRecord:
    """A stored alert."""

    id: int
    kind: str
    subject: str
    detail: str
    created_at: datetime


async def store_alert(
    pool: asyncpg.Pool, tenant_id: str, kind: str, subject: str, detail: str
) -> int:
    """Store an alert unless one with this kind and subject exists; the alert's id either way."""
    alert_id: int = await pool.fetchval(
        "WITH ins AS (INSERT INTO alerts (tenant_id, kind, subject, detail)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, kind, subject) DO NOTHING"
        " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM alerts WHERE"
        " tenant_id = $1 AND kind = $2 AND subject = $3 LIMIT 1",
        tenant_id, kind, subject, detail,
    )
    return alert_id


async def store_stuck_alert(
    conn: asyncpg.Connection, tenant_id: str, agent_id: str, detail: str
) -> None:
    """Store a stuck-agent alert (subject ``agent@time``), inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO alerts (tenant_id, kind, subject, detail)"
        " VALUES ($1, 'stuck_agent', $2 || '@' || now()::text, $3)"
        " ON CONFLICT DO NOTHING", tenant_id, agent_id, detail)


async def list_alerts(pool: asyncpg.Pool, tenant_id: str, limit: int) -> list[AlertRecord]:
    """A tenant's alerts, newest first."""
    rows = await pool.fetch(
        "SELECT id, kind, subject, detail, created_at FROM alerts WHERE tenant_id = $1"
        " ORDER BY id DESC LIMIT $2", tenant_id, limit)
    return [AlertRecord(**dict(r)) for r in rows]


async def prune_alerts(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int) -> int:
    """Delete a tenant's alerts raised before ``before``; return how many (retention).

    An alert is stored once per (kind, subject): once pruned, the same trouble alerts again.
    """
    return await delete_in_batches(
        pool, "DELETE FROM alerts WHERE ctid = ANY(ARRAY(SELECT ctid FROM alerts"
        " WHERE tenant_id = $1 AND created_at < $2 LIMIT $3))", tenant_id, before, batch=batch)
