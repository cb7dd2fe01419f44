"""Agents: the one owner of the agents table, its profile fields and its status."""

from __future__ import annotations

from typing import Any

import asyncpg

_AGENT = (
    "id, tenant_id, name, role, status, max_turns, avatar_url, owner, queue_expiry_seconds,"
    " created_at"
)
_AGENT_FIELDS = {"name", "role", "status", "max_turns", "avatar_url", "owner",
                 "queue_expiry_seconds"}


async def owners_of(pool: asyncpg.Pool, agent_ids: list[str]) -> dict[str, str]:
    """The tenant of each of these agents that exists (agent ids are unique across tenants)."""
    rows = await pool.fetch(
        "SELECT id, tenant_id FROM agents WHERE id = ANY($1::text[])", agent_ids)
    return {r["id"]: r["tenant_id"] for r in rows}


async def create_agent(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, name: str, **profile: Any
) -> dict[str, Any] | None:
    """Insert an agent with optional profile fields; None if the id is taken."""
    fields = {"name": name, **{k: v for k, v in profile.items() if v is not None}}
    if unknown := set(fields) - _AGENT_FIELDS:
        raise ValueError(f"unknown agent fields: {sorted(unknown)}")
    columns = ", ".join(fields)
    params = ", ".join(f"${i}" for i in range(3, len(fields) + 3))
    row = await pool.fetchrow(
        f"INSERT INTO agents (id, tenant_id, {columns}) VALUES ($1, $2, {params})"
        f" ON CONFLICT (id) DO NOTHING RETURNING {_AGENT}",
        agent_id, tenant_id, *fields.values(),
    )
    return dict(row) if row is not None else None


async def list_agents(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """A tenant's agents by id."""
    rows = await pool.fetch(
        f"SELECT {_AGENT} FROM agents WHERE tenant_id = $1 ORDER BY id", tenant_id
    )
    return [dict(r) for r in rows]


async def update_agent(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Change profile fields or status (paused and offline agents leave routing)."""
    if unknown := set(changes) - _AGENT_FIELDS:
        raise ValueError(f"unknown agent fields: {sorted(unknown)}")
    if not changes:
        row = await pool.fetchrow(
            f"SELECT {_AGENT} FROM agents WHERE tenant_id = $1 AND id = $2", tenant_id, agent_id)
    else:
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=3))
        row = await pool.fetchrow(
            f"UPDATE agents SET {sets} WHERE tenant_id = $1 AND id = $2 RETURNING {_AGENT}",
            tenant_id, agent_id, *changes.values(),
        )
    return dict(row) if row is not None else None
