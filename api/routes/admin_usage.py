"""Admin: the economy (usage totals by tenant and agent) and alerts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AdminDep, PoolDep
from api.errors import ApiError
from infra.directory import tenants
from infra.governance import alerts as alert_rows
from infra.governance import usage as usage_rows

router = APIRouter(prefix="/admin", tags=["admin: economy"], dependencies=[AdminDep])


class UsageTotal(BaseModel):
    """What one agent of one tenant has used."""

    tenant_id: str
    agent_id: str
    runs: int
    thinks: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    duration_ms: int


class Alert(BaseModel):
    """Something an admin must hear about (expired runs, offline or stuck agents)."""

    id: int
    kind: str
    subject: str
    detail: str
    created_at: datetime


@router.get("/usage", summary="Usage totals by tenant and agent")
async def usage(
    pool: PoolDep, tenant_id: str | None = Query(default=None, description="One tenant")
) -> list[UsageTotal]:
    """LLM tokens in and out, tool calls, thinks, runs and think time."""
    return [UsageTotal(**asdict(r)) for r in await usage_rows.usage_totals(pool, tenant_id)]


@router.get("/tenants/{tenant_id}/alerts", summary="A tenant's alerts, newest first")
async def alerts(
    tenant_id: str, pool: PoolDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[Alert]:
    """Alerts raised by the platform for this tenant."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    return [Alert(**asdict(r)) for r in await alert_rows.list_alerts(pool, tenant_id, limit)]
