"""The approvals table: requests held for a person, and their decisions (its one writer)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

_COLUMNS = ("id, tenant_id, agent_id, request_key, workflow_id, intent, resource, arguments,"
            " args_hash, approvers, approver_group, channel, message_ts, state, decided_by,"
            " decided_via, reason, timeout_seconds, created_at, posted_at, decided_at,"
            " applied_at")


@dataclass(frozen=True)
class Approval:
    """One approval request as stored."""

    id: str
    tenant_id: str
    agent_id: str
    request_key: str
    workflow_id: str
    intent: str
    resource: str
    arguments: dict[str, Any]
    args_hash: str
    approvers: list[str]
    approver_group: str | None
    channel: str | None
    message_ts: str | None
    state: str
    decided_by: str | None
    decided_via: str | None
    reason: str | None
    timeout_seconds: int
    created_at: datetime
    posted_at: datetime | None
    decided_at: datetime | None
    applied_at: datetime | None


def _row(r: asyncpg.Record) -> Approval:
    return Approval(**{**dict(r), "approvers": list(r["approvers"])})


@dataclass(frozen=True)
class NewRequest:
    """What a held call asks a person to decide."""

    tenant_id: str
    agent_id: str
    request_key: str
    workflow_id: str
    intent: str
    resource: str
    arguments: dict[str, Any]
    args_hash: str
    approvers: list[str]
    approver_group: str | None
    channel: str | None
    timeout_seconds: int


async def open_request(pool: asyncpg.Pool, req: NewRequest) -> Approval:
    """The request for this call: created now, or the one a retried call created before."""
    row = await pool.fetchrow(
        "WITH ins AS (INSERT INTO approvals (id, tenant_id, agent_id, request_key, workflow_id,"
        " intent, resource, arguments, args_hash, approvers, approver_group, channel,"
        " timeout_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        f" ON CONFLICT (tenant_id, agent_id, request_key) DO NOTHING RETURNING {_COLUMNS})"
        f" SELECT {_COLUMNS} FROM ins UNION ALL SELECT {_COLUMNS} FROM approvals"
        " WHERE tenant_id = $2 AND agent_id = $3 AND request_key = $4 LIMIT 1",
        f"apr_{uuid.uuid4().hex[:20]}", req.tenant_id, req.agent_id, req.request_key,
        req.workflow_id, req.intent, req.resource, req.arguments, req.args_hash, req.approvers,
        req.approver_group, req.channel, req.timeout_seconds)
    assert row is not None  # inserted, or there already
    return _row(row)


async def get(pool: asyncpg.Pool, tenant_id: str, approval_id: str) -> Approval | None:
    """One of a tenant's approvals (another tenant's is None)."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM approvals WHERE tenant_id = $1 AND id = $2",
                              tenant_id, approval_id)
    return _row(row) if row is not None else None


async def find(pool: asyncpg.Pool, approval_id: str) -> Approval | None:
    """An approval by id alone (a Slack click names only that; its tenant is checked after)."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM approvals WHERE id = $1", approval_id)
    return _row(row) if row is not None else None


async def list_for(pool: asyncpg.Pool, tenant_id: str, state: str | None, limit: int
                   ) -> list[Approval]:
    """A tenant's approvals, newest first, optionally in one state."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM approvals WHERE tenant_id = $1"
        " AND ($2::text IS NULL OR state = $2) ORDER BY created_at DESC, id LIMIT $3",
        tenant_id, state, limit)
    return [_row(r) for r in rows]


async def mark_posted(pool: asyncpg.Pool, approval_id: str, channel: str, ts: str,
                      members: list[str]) -> None:
    """The request is in Slack; the group's members, read then, may decide too."""
    await pool.execute(
        "UPDATE approvals SET channel = $2, message_ts = $3, posted_at = now(),"
        " approvers = ARRAY(SELECT DISTINCT unnest(approvers || $4::text[]))"
        " WHERE id = $1 AND posted_at IS NULL", approval_id, channel, ts, members)


async def decide(pool: asyncpg.Pool, approval_id: str, state: str, by: str, via: str,
                 reason: str | None) -> Approval | None:
    """Decide a pending approval; None if it was decided (or expired) already."""
    row = await pool.fetchrow(
        "UPDATE approvals SET state = $2, decided_by = $3, decided_via = $4, reason = $5,"
        f" decided_at = now() WHERE id = $1 AND state = 'pending' RETURNING {_COLUMNS}",
        approval_id, state, by, via, reason)
    return _row(row) if row is not None else None


async def mark_applied(pool: asyncpg.Pool, approval_id: str) -> None:
    """The approved call ran (the round trip's end)."""
    await pool.execute("UPDATE approvals SET applied_at = now() WHERE id = $1"
                       " AND applied_at IS NULL", approval_id)
