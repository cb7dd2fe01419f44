"""Tenants and their integrations (provider signing secrets, sealed): who the platform serves.

A tenant's row is the SQLModel ``infra.models.directory.Tenant`` (``TenantRecord`` here): the
admin API creates, reads and changes tenants through it (infra/models/query.py). The webhook
door's per-delivery lookups below stay hand-written asyncpg SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from infra.crypto import Sealer, reseal
from infra.models import query
from infra.models.directory import Tenant as TenantRecord

_TENANT_FIELDS = {"name", "default_agents", "admin_channel", "slack_commands", "retention"}
_TENANT = TenantRecord.__table__.c  # type: ignore[attr-defined]  # every column, RETURNING them


@dataclass(frozen=True)
class IntegrationRecord:
    """A configured provider of a tenant (never its secret)."""

    provider: str
    updated_at: datetime


def secret_context(tenant_id: str, provider: str) -> str:
    """The AES-GCM associated data binding a sealed secret to its row."""
    return f"integration/{tenant_id}/{provider}"


async def create_tenant(
    pool: asyncpg.Pool, tenant_id: str, name: str, default_agents: list[str]
) -> TenantRecord | None:
    """Insert a tenant (the model's defaults, the database's clock); None if the id is taken."""
    new = TenantRecord(id=tenant_id, name=name, default_agents=default_agents)
    values = {**new.model_dump(exclude={"created_at"}), "created_at": func.now()}
    statement = (insert(TenantRecord).values(**values)
                 .on_conflict_do_nothing(index_elements=["id"]).returning(*_TENANT))
    return await query.row(pool, statement, TenantRecord)


async def get_tenant(pool: asyncpg.Pool, tenant_id: str) -> TenantRecord | None:
    """One tenant, or None."""
    statement = select(*_TENANT).where(col(TenantRecord.id) == tenant_id)
    return await query.row(pool, statement, TenantRecord)


async def list_tenants(pool: asyncpg.Pool) -> list[TenantRecord]:
    """All tenants by id."""
    return await query.rows(pool, select(*_TENANT).order_by(col(TenantRecord.id)), TenantRecord)


async def admin_channel(pool: asyncpg.Pool, tenant_id: str) -> str | None:
    """The Slack channel a tenant's alerts are posted to, or None."""
    channel: str | None = await pool.fetchval(
        "SELECT admin_channel FROM tenants WHERE id = $1", tenant_id)
    return channel


async def slack_commands(pool: asyncpg.Pool, tenant_id: str) -> list[str] | None:
    """The slash commands a tenant's Slack app sends (e.g. ``/switchboard``); None: no tenant."""
    names: list[str] | None = await pool.fetchval(
        "SELECT slack_commands FROM tenants WHERE id = $1", tenant_id)
    return names


async def update_tenant(
    pool: asyncpg.Pool, tenant_id: str, changes: dict[str, Any]
) -> TenantRecord | None:
    """Change a tenant's name, default agents, admin channel (None clears it), slash commands or
    retention windows.

    Only the fields in ``changes`` change. None if the tenant does not exist.
    """
    if unknown := set(changes) - _TENANT_FIELDS:
        raise ValueError(f"unknown tenant fields: {sorted(unknown)}")
    if not changes:
        return await get_tenant(pool, tenant_id)
    statement = (update(TenantRecord).where(col(TenantRecord.id) == tenant_id)
                 .values(**changes).returning(*_TENANT))
    return await query.row(pool, statement, TenantRecord)


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


async def list_integrations(pool: asyncpg.Pool, tenant_id: str) -> list[IntegrationRecord]:
    """Which providers a tenant has configured (never the secrets)."""
    rows = await pool.fetch(
        "SELECT provider, updated_at FROM integrations WHERE tenant_id = $1 ORDER BY provider",
        tenant_id,
    )
    return [IntegrationRecord(**dict(r)) for r in rows]


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


async def reseal_integration_secrets(conn: asyncpg.Connection, old: Sealer, new: Sealer) -> int:
    """Seal every provider signing secret again under ``new`` (master-key rotation, in the
    caller's transaction); how many. InvalidTag if one was not sealed by ``old``."""
    rows = await conn.fetch(
        "SELECT tenant_id, provider, secret_enc FROM integrations FOR UPDATE")
    for row in rows:
        sealed = reseal(old, new, row["secret_enc"], secret_context(row["tenant_id"],
                                                                      row["provider"]))
        await conn.execute(
            "UPDATE integrations SET secret_enc = $3 WHERE tenant_id = $1 AND provider = $2",
            row["tenant_id"], row["provider"], sealed)
    return len(rows)


async def retention_windows(pool: asyncpg.Pool) -> dict[str, dict[str, int]]:
    """Every tenant's own retention windows (empty: all defaults), by tenant id."""
    rows = await pool.fetch("SELECT id, retention FROM tenants ORDER BY id")
    return {r["id"]: dict(r["retention"]) for r in rows}
