"""Agents: the one owner of the agents table, its profile fields, status and credentials.

Status rules, all here: ``active`` agents are routed; ``paused`` ones are not, until an admin
resumes them (set by an admin or by the circuit breaker for a stuck agent); ``offline`` ones are
not either, and presence moves an agent only between ``active`` and ``offline``, so a heartbeat
never resumes a paused agent and a missed one never hides that it was paused.

Pausing an agent or revoking its tokens closes its sockets in every API process: the close is
NOTIFYed (infra/directory/closes.py) in the same transaction as the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from infra.directory.closes import SocketClose, Why, notify

_AGENT = (
    "id, tenant_id, name, role, status, max_turns, avatar_url, owner, queue_expiry_seconds,"
    " created_at, sessions, session_policy, session_debounce_ms, session_max_wait_ms,"
    " session_idle_seconds, session_summary_every"
)
SESSION_FIELDS = {"sessions", "session_policy", "session_debounce_ms", "session_max_wait_ms",
                  "session_idle_seconds",
                  "session_summary_every"}  # read by infra/sessions (README, "Sessions")
_AGENT_FIELDS = {"name", "role", "status", "max_turns", "avatar_url", "owner",
                 "queue_expiry_seconds", *SESSION_FIELDS}

ACTIVE, PAUSED, OFFLINE = "active", "paused", "offline"


@dataclass(frozen=True)
class AgentRecord:
    """An agent's row (credentials left out)."""

    id: str
    tenant_id: str
    name: str
    role: str
    status: str
    max_turns: int
    avatar_url: str | None
    owner: str | None
    queue_expiry_seconds: int
    created_at: datetime
    sessions: bool = True
    session_policy: str = "enqueue"
    session_debounce_ms: int = 2000
    session_max_wait_ms: int = 10000
    session_idle_seconds: int = 604800
    session_summary_every: int = 20


def _record(row: asyncpg.Record | None) -> AgentRecord | None:
    return AgentRecord(**dict(row)) if row is not None else None


async def existing(pool: asyncpg.Pool, tenant_id: str, agent_ids: list[str]) -> set[str]:
    """Which of these agent ids the tenant has."""
    rows = await pool.fetch(
        "SELECT id FROM agents WHERE tenant_id = $1 AND id = ANY($2::text[])", tenant_id, agent_ids)
    return {r["id"] for r in rows}


async def create_agent(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, name: str, **profile: Any
) -> AgentRecord | None:
    """Insert an agent with optional profile fields; None if the tenant has one with that id."""
    fields = {"name": name, **{k: v for k, v in profile.items() if v is not None}}
    if unknown := set(fields) - _AGENT_FIELDS:
        raise ValueError(f"unknown agent fields: {sorted(unknown)}")
    columns = ", ".join(fields)
    params = ", ".join(f"${i}" for i in range(3, len(fields) + 3))
    row = await pool.fetchrow(
        f"INSERT INTO agents (id, tenant_id, {columns}) VALUES ($1, $2, {params})"
        f" ON CONFLICT (tenant_id, id) DO NOTHING RETURNING {_AGENT}",
        agent_id, tenant_id, *fields.values(),
    )
    return _record(row)


async def list_agents(pool: asyncpg.Pool, tenant_id: str) -> list[AgentRecord]:
    """A tenant's agents by id."""
    rows = await pool.fetch(
        f"SELECT {_AGENT} FROM agents WHERE tenant_id = $1 ORDER BY id", tenant_id
    )
    return [AgentRecord(**dict(r)) for r in rows]


async def update_agent(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, changes: dict[str, Any]
) -> AgentRecord | None:
    """Change profile fields or status (paused and offline agents leave routing)."""
    if unknown := set(changes) - _AGENT_FIELDS:
        raise ValueError(f"unknown agent fields: {sorted(unknown)}")
    if not changes:
        row = await pool.fetchrow(
            f"SELECT {_AGENT} FROM agents WHERE tenant_id = $1 AND id = $2", tenant_id, agent_id)
    else:
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=3))
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE agents SET {sets} WHERE tenant_id = $1 AND id = $2 RETURNING {_AGENT}",
                tenant_id, agent_id, *changes.values(),
            )
            if row is not None and changes.get("status") == PAUSED:
                await notify(conn, SocketClose(Why.PAUSED, tenant_id, agent_id))
    return _record(row)


async def set_presence(pool: asyncpg.Pool, tenant_id: str, agent_id: str, online: bool) -> None:
    """Bring an offline agent back (online) or take an active one out; paused ones stay paused."""
    old, new = (OFFLINE, ACTIVE) if online else (ACTIVE, OFFLINE)
    await pool.execute(
        "UPDATE agents SET status = $3 WHERE tenant_id = $1 AND id = $2 AND status = $4",
        tenant_id, agent_id, new, old)


async def pause(conn: asyncpg.Connection, tenant_id: str, agent_id: str,
                why: Why = Why.PAUSED) -> None:
    """Pause an agent until an admin resumes it and close its sockets (caller's transaction)."""
    await conn.execute(
        "UPDATE agents SET status = $3 WHERE tenant_id = $1 AND id = $2",
        tenant_id, agent_id, PAUSED)
    await notify(conn, SocketClose(why, tenant_id, agent_id))


async def set_client_secret_hash(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, digest: str
) -> bool:
    """Replace an agent's hashed OAuth2 client secret; False if there is no such agent."""
    status = await pool.execute(
        "UPDATE agents SET client_secret_hash = $3 WHERE tenant_id = $1 AND id = $2",
        tenant_id, agent_id, digest)
    return bool(status != "UPDATE 0")


async def revoke_tokens(pool: asyncpg.Pool, tenant_id: str, agent_id: str) -> bool:
    """Refuse every token issued to this agent before now, closing its sockets; False if none."""
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            "UPDATE agents SET tokens_valid_after = now() WHERE tenant_id = $1 AND id = $2",
            tenant_id, agent_id)
        if status != "UPDATE 0":
            await notify(conn, SocketClose(Why.TOKENS_REVOKED, tenant_id, agent_id))
    return bool(status != "UPDATE 0")


async def revoke_all_tokens(conn: asyncpg.Connection, *, close_sockets: bool = True) -> None:
    """Refuse every token issued to any agent before now (inside the caller's transaction).

    Every agent socket is closed too, unless the caller closes them its own way (the kill
    switch does, with its own close code).
    """
    await conn.execute("UPDATE agents SET tokens_valid_after = now()")
    if close_sockets:
        await notify(conn, SocketClose(Why.TOKENS_REVOKED))
