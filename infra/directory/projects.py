"""Projects with their mappings (ClickUp list, Slack channel, GitHub repo) and identity links.

Identity links are read and written through the SQLModel ``IdentityLink`` (infra/models/query.py);
projects, whose reads aggregate their mappings in one statement, stay hand-written SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from infra.models import query
from infra.models.directory import IdentityLink as IdentityRecord  # an account as an agent


@dataclass(frozen=True)
class MappingRecord:
    """An external id (repo, channel or list) that belongs to a project."""

    provider: str
    external_id: str


@dataclass(frozen=True)
class MirrorRecord:
    """A ClickUp list and a Slack channel of the project that mirror each other."""

    clickup_list: str
    slack_channel: str


@dataclass(frozen=True)
class ProjectRecord:
    """A project's row with its mappings and mirrored pairs."""

    id: str
    name: str
    default_agents: list[str]
    mappings: list[MappingRecord]
    mirrors: list[MirrorRecord]


def _project(row: asyncpg.Record) -> ProjectRecord:
    mappings: list[dict[str, Any]] = row["mappings"]
    mirrors: list[dict[str, Any]] = row["mirrors"]
    return ProjectRecord(id=row["id"], name=row["name"], default_agents=row["default_agents"],
                         mappings=[MappingRecord(**m) for m in mappings],
                         mirrors=[MirrorRecord(**m) for m in mirrors])


async def put_project(
    pool: asyncpg.Pool, tenant_id: str, project_id: str, name: str, default_agents: list[str],
    mappings: list[tuple[str, str]], mirrors: list[tuple[str, str]] | None = None,
) -> ProjectRecord:
    """Create or replace a project, its mappings and its mirrored pairs in one transaction.

    ``mirrors`` are (ClickUp list, Slack channel) pairs, each of the project's mappings (the
    caller checks). Raises asyncpg.UniqueViolationError when an external id already belongs to
    another project, or a list or channel to another mirrored pair.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO projects (tenant_id, id, name, default_agents) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name,"
            " default_agents = EXCLUDED.default_agents",
            tenant_id, project_id, name, default_agents,
        )
        await conn.execute(
            "DELETE FROM project_mappings WHERE tenant_id = $1 AND project_id = $2",
            tenant_id, project_id,
        )
        await conn.executemany(
            "INSERT INTO project_mappings (tenant_id, project_id, provider, external_id)"
            " VALUES ($1, $2, $3, $4)",
            [(tenant_id, project_id, provider, ext) for provider, ext in mappings],
        )
        await conn.execute(
            "DELETE FROM mirror_pairs WHERE tenant_id = $1 AND project_id = $2",
            tenant_id, project_id,
        )
        await conn.executemany(
            "INSERT INTO mirror_pairs (tenant_id, project_id, list_id, channel)"
            " VALUES ($1, $2, $3, $4)",
            [(tenant_id, project_id, lst, channel) for lst, channel in mirrors or []],
        )
    project = await get_project(pool, tenant_id, project_id)
    assert project is not None
    return project


_PROJECT = """
SELECT p.id, p.name, p.default_agents,
  COALESCE((SELECT jsonb_agg(jsonb_build_object('provider', m.provider,
                                                'external_id', m.external_id)
                             ORDER BY m.provider, m.external_id)
            FROM project_mappings m WHERE m.tenant_id = p.tenant_id AND m.project_id = p.id),
           '[]'::jsonb) AS mappings,
  COALESCE((SELECT jsonb_agg(jsonb_build_object('clickup_list', x.list_id,
                                                'slack_channel', x.channel)
                             ORDER BY x.list_id)
            FROM mirror_pairs x WHERE x.tenant_id = p.tenant_id AND x.project_id = p.id),
           '[]'::jsonb) AS mirrors
FROM projects p WHERE p.tenant_id = $1
"""


async def get_project(pool: asyncpg.Pool, tenant_id: str, project_id: str) -> ProjectRecord | None:
    """One project with its mappings."""
    row = await pool.fetchrow(_PROJECT + " AND p.id = $2", tenant_id, project_id)
    return _project(row) if row is not None else None


async def list_projects(pool: asyncpg.Pool, tenant_id: str) -> list[ProjectRecord]:
    """A tenant's projects with their mappings."""
    return [_project(r) for r in await pool.fetch(_PROJECT + " ORDER BY p.id", tenant_id)]


async def delete_project(pool: asyncpg.Pool, tenant_id: str, project_id: str) -> bool:
    """Remove a project (and its mappings); False if there was none."""
    status = await pool.execute(
        "DELETE FROM projects WHERE tenant_id = $1 AND id = $2", tenant_id, project_id)
    return bool(status != "DELETE 0")


async def link_identity(
    pool: asyncpg.Pool, tenant_id: str, agent_id: str, provider: str, external_id: str
) -> None:
    """Make an external account (e.g. a Slack user id) stand for an agent."""
    link = IdentityRecord(tenant_id=tenant_id, provider=provider, external_id=external_id,
                          agent_id=agent_id)
    statement = insert(IdentityRecord).values(**link.model_dump())
    await query.execute(pool, statement.on_conflict_do_update(
        index_elements=["tenant_id", "provider", "external_id"],
        set_={"agent_id": statement.excluded.agent_id}))


async def unlink_identity(
    pool: asyncpg.Pool, tenant_id: str, provider: str, external_id: str
) -> bool:
    """Remove an identity link; False if there was none."""
    status = await query.execute(pool, delete(IdentityRecord).where(
        col(IdentityRecord.tenant_id) == tenant_id, col(IdentityRecord.provider) == provider,
        col(IdentityRecord.external_id) == external_id))
    return status != "DELETE 0"


async def list_identities(pool: asyncpg.Pool, tenant_id: str) -> list[IdentityRecord]:
    """A tenant's identity links."""
    statement = (select(IdentityRecord).where(col(IdentityRecord.tenant_id) == tenant_id)
                 .order_by(col(IdentityRecord.agent_id), col(IdentityRecord.provider),
                           col(IdentityRecord.external_id)))
    return await query.rows(pool, statement, IdentityRecord)
