"""Admin: an agent's memory in a tenant (core facts and episodic summaries, infra/memory).

Reading needs the viewer role, writing and deleting the admin role (api/authz.py). Memory is
per tenant: another tenant's agent or memory id answers 404, as an unknown one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep, PrincipalDep
from api.errors import ApiError
from api.inputs import INT64_MAX, Text
from infra.directory import agents as agent_dir
from infra.directory import tenants
from infra.memory import KEY_PATTERN, MAX_VALUE_CHARS, MemoryRow, UnknownAgent
from infra.memory import store as memory

router = APIRouter(prefix="/admin/tenants", tags=["admin: memory"], dependencies=[AdminDep])

_BASE = "/{tenant_id}/agents/{agent_id}/memory"
Key = Annotated[str, Path(pattern=KEY_PATTERN, description=(
    "The fact's key: letters, digits, _ . : - (starting with a letter or digit), at most 128"))]
MemoryId = Annotated[int, Path(ge=1, le=INT64_MAX, description="The memory's id")]


class CoreFact(BaseModel):
    """The value of a core fact (replaces the key's earlier value)."""

    value: Text = Field(min_length=1, max_length=MAX_VALUE_CHARS)


class Memory(BaseModel):
    """One thing the agent remembers."""

    id: int
    type: Literal["core", "episodic"]
    key: str | None = Field(description="The fact's key (core facts only)")
    value: str = Field(description="The fact's value, or the summary")
    tokens: int = Field(description="Tokens it takes in the prompt (tiktoken cl100k_base)")
    session_id: str | None = Field(description="The session it summarizes (episodic only)")
    written_by: str = Field(description="agent, admin:<who> or platform")
    created_at: datetime
    updated_at: datetime


def _view(row: MemoryRow) -> Memory:
    return Memory(id=row.id, type="core" if row.type == "core" else "episodic", key=row.key,
                  value=row.value, tokens=row.tokens, session_id=row.session_id,
                  written_by=row.written_by, created_at=row.created_at,
                  updated_at=row.updated_at)


async def _require_agent(pool: asyncpg.Pool, tenant_id: str, agent_id: str) -> None:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    if not await agent_dir.existing(pool, tenant_id, [agent_id]):
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")


@router.get(_BASE, summary="List an agent's memory")
async def list_memory(
    tenant_id: str, agent_id: str, pool: PoolDep,
    type: Annotated[Literal["core", "episodic"] | None,
                    Query(description="Only core facts or only episodic summaries")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[Memory]:
    """Core facts by key, then episodic summaries newest first."""
    await _require_agent(pool, tenant_id, agent_id)
    try:
        rows = await memory.list_memory(pool, tenant_id, agent_id, type, limit=limit,
                                        offset=offset)
    except UnknownAgent as err:  # deleted meanwhile
        raise ApiError(404, "unknown_agent", str(err)) from None
    return [_view(r) for r in rows]


@router.put(f"{_BASE}/core/{{key}}", summary="Set a core fact")
async def put_core(tenant_id: str, agent_id: str, key: Key, body: CoreFact, pool: PoolDep,
                   principal: PrincipalDep) -> Memory:
    """Write the agent's fact ``key`` (the agent sees it first in every think from now on)."""
    await _require_agent(pool, tenant_id, agent_id)
    try:
        row = await memory.set_core(pool, tenant_id, agent_id, key, body.value,
                                    by=f"admin:{principal.actor}")
    except UnknownAgent as err:
        raise ApiError(404, "unknown_agent", str(err)) from None
    return _view(row)


@router.delete(f"{_BASE}/{{memory_id}}", status_code=204, summary="Forget a memory")
async def delete_memory(tenant_id: str, agent_id: str, memory_id: MemoryId, pool: PoolDep
                        ) -> Response:
    """Delete one core fact or episodic summary of the agent by id."""
    await _require_agent(pool, tenant_id, agent_id)
    if not await memory.delete_memory(pool, tenant_id, agent_id, memory_id):
        raise ApiError(404, "unknown_memory",
                       f"agent {agent_id!r} of tenant {tenant_id!r} has no memory {memory_id}")
    return Response(status_code=204)
