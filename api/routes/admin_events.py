"""Admin: a tenant's events and what became of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import AdminDep, PoolDep
from api.errors import ApiError
from api.inputs import INT64_MAX
from infra.directory import tenants
from infra.inbox import store as inbox
from workflows.contracts import EventKind, EventStatus, Provider
from workflows.ids import event_workflow_id

router = APIRouter(prefix="/admin/tenants", tags=["admin: events"], dependencies=[AdminDep])


class EventView(BaseModel):
    """One delivery and its processing state."""

    id: int
    provider: str
    event_name: str | None
    dedup_key: str
    workflow_id: str
    status: EventStatus
    kind: EventKind | None
    reason: str | None
    agent_ids: list[str]
    outcomes: list[dict[str, Any]]
    event: dict[str, Any] | None
    received_at: datetime
    relayed_at: datetime | None
    updated_at: datetime | None


def _view(tenant_id: str, row: inbox.EventRecord) -> EventView:
    return EventView(
        id=row.id, provider=row.provider, event_name=row.event_name, dedup_key=row.dedup_key,
        workflow_id=event_workflow_id(tenant_id, row.provider, row.dedup_key),
        status=EventStatus(row.status), kind=EventKind(row.kind) if row.kind is not None else None,
        reason=row.reason, agent_ids=row.agent_ids or [], outcomes=row.outcomes or [],
        event=row.event, received_at=row.received_at, relayed_at=row.relayed_at,
        updated_at=row.updated_at,
    )


@router.get("/{tenant_id}/events", summary="List events, newest first")
async def list_events(
    tenant_id: str,
    pool: PoolDep,
    status: EventStatus | None = None,
    kind: EventKind | None = None,
    provider: Provider | None = None,
    before_id: int | None = Query(default=None, ge=1, le=INT64_MAX,
                                  description="Page: events older than this id"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[EventView]:
    """Filter by status (received, dispatched, ignored, failed), kind and provider."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    rows = await inbox.list_events(
        pool, tenant_id,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        provider=provider.value if provider else None,
        before_id=before_id, limit=limit,
    )
    return [_view(tenant_id, r) for r in rows]


@router.get("/{tenant_id}/events/{event_id}", summary="Show one event")
async def get_event(tenant_id: str, event_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
                    pool: PoolDep) -> EventView:
    """One event with its normalized form and the agents' outcomes."""
    row = await inbox.get_event(pool, tenant_id, event_id)
    if row is None:
        raise ApiError(404, "unknown_event", f"tenant {tenant_id!r} has no event {event_id}")
    return _view(tenant_id, row)
