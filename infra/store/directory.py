"""Tenants, their integrations, agents and aliases: who exists and who is who."""

from __future__ import annotations

from typing import Any

import asyncpg

from infra.crypto import Sealer

_TENANT = "id, name, default_agents, admin_channel, created_at"
_AGENT = (
    "id, tenant_id, name, role, status, max_turns, avatar_url, owner, queue_expiry_seconds,"
    " created_at"
)
_TENANT_FIELDS = {"name", "default_agents", "admin_channel"}
_AGENT_FIELDS = {"name", "role", "status", "max_turns", "avatar_url", "owner",
                 "queue_expiry_seconds"}


def secret_context(tenant_id: str, provider: str) -> str:
    """The AES-GCM associated data binding a sealed secret to its row."""
    return f"integration/{tenant_id}/{provider}"


async def create_tenant(
    pool: asyncpg.Pool, tenant_id: str, name: str, default_agents: list[str]
) -> dict[str, Any] | None:
    """Insert a tenant; None if the id is taken."""
    row = await pool.fetchrow(
        f"INSERT INTO tenants (id, name, default_agents) VALUES ($1, $2, $3)"
        f" ON CONFLICT (id) DO NOTHING RETURNING {_TENANT}",
        tenant_id, name, default_agents,
    )
    return dict(row) if row is not None else None


async def get_tenant(pool: asyncpg.Pool, tenant_id: str) -> dict[str, Any] | None:
    """One tenant, or None."""
    row = await pool.fetchrow(f"SELECT {_TENANT} FROM tenants WHERE id = $1", tenant_id)
    return dict(row) if row is not None else None


async def list_tenants(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """All tenants by id."""
    return [dict(r) for r in await pool.fetch(f"SELECT {_TENANT} FROM tenants ORDER BY id")]


async def update_tenant(
    pool: asyncpg.Pool, tenant_id: str, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Change a tenant's name, default agents or admin channel (None clears the channel).

    Only the fields in ``changes`` change. None if the tenant does not exist.
    """
    if unknown := set(changes) - _TENANT_FIELDS:
        raise ValueError(f"unknown tenant fields: {sorted(unknown)}")
    if not changes:
        return await get_tenant(pool, tenant_id)
    sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
    row = await pool.fetchrow(
        f"UPDATE tenants SET {sets} WHERE id = $1 RETURNING {_TENANT}",
        tenant_id, *changes.values(),
    )
    return dict(row) if row is not None else None


async def owners_of(pool: asyncpg.Pool, agent_ids: list[str]) -> dict[str, str]:
    """The tenant of each of these agents that exists (agent ids are unique across tenants)."""
    rows = await pool.fetch(
        "SELECT id, tenant_id FROM agents WHERE id = ANY($1::text[])", agent_ids)
    return {r["id"]: r["tenant_id"] for r in rows}


async def set_integration_secret(
    pool: asyncpg.Pool, sealer: Sealer, tenant_id: str, provider: str, secret: str
) -> None:
    """Store a provider signing secret, encrypted."""
    sealed = sealer.seal(secret, secret_context(tenant_id, provider))
    await pool.execute(
        "INSERT INTO integrations (tenant_id, provider, secret_enc) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id, provider)"
        " DO UPDATE SET secret_enc = EXCLUDED.secret_enc, updated_at = now()",
        tenant_id, provider, sealed,
    )


async def delete_integration(pool: asyncpg.Pool, tenant_id: str, provider: str) -> bool:
    """Remove a provider's secret; False if there was none."""
    status = await pool.execute(
        "DELETE FROM integrations WHERE tenant_id = $1 AND provider = $2", tenant_id, provider
    )
    return bool(status != "DELETE 0")


async def list_integrations(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """Which providers a tenant has configured (never the secrets)."""
    rows = await pool.fetch(
        "SELECT provider, updated_at FROM integrations WHERE tenant_id = $1 ORDER BY provider",
        tenant_id,
    )
    return [dict(r) for r in rows]


async def lookup_signing_secret(
    pool: asyncpg.Pool, sealer: Sealer, tenant_id: str, provider: str
) -> tuple[bool, str | None]:
    """(tenant exists, decrypted secret or None when the provider is not configured)."""
    row = await pool.fetchrow(
        "SELECT i.secret_enc FROM tenants t LEFT JOIN integrations i"
        " ON i.tenant_id = t.id AND i.provider = $2 WHERE t.id = $1",
        tenant_id, provider,
    )
    if row is None:
        return False, None
    if row["secret_enc"] is None:
        return True, None
    return True, sealer.open(row["secret_enc"], secret_context(tenant_id, provider))


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


async def put_alias(
    pool: asyncpg.Pool, tenant_id: str, name: str, members: list[str]
) -> dict[str, Any]:
    """Create or replace an alias (names are unique case-insensitively)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM aliases WHERE tenant_id = $1 AND lower(name) = lower($2)", tenant_id, name
        )
        row = await conn.fetchrow(
            "INSERT INTO aliases (tenant_id, name, members) VALUES ($1, $2, $3)"
            " RETURNING name, members",
            tenant_id, name, members,
        )
    assert row is not None
    return dict(row)


async def list_aliases(pool: asyncpg.Pool, tenant_id: str) -> list[dict[str, Any]]:
    """A tenant's aliases by name."""
    rows = await pool.fetch(
        "SELECT name, members FROM aliases WHERE tenant_id = $1 ORDER BY name", tenant_id
    )
    return [dict(r) for r in rows]
