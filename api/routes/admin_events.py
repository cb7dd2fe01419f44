"""Admin: a tenant's events and what became of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from api.deps import AdminDep, AppState, PoolDep, get_state
from api.errors import ApiError
from api.inputs import INT64_MAX
from api.openapi import error_responses
from api.routes.admin_audit import Instant
from infra.directory import tenants
from infra.inbox import store as inbox
from workflows.contracts import EventKind, EventStatus, Provider
from workflows.ids import event_workflow_id

router = APIRouter(prefix="/admin/tenants", tags=["admin: events"], dependencies=[AdminDep])
StateDep = Annotated[AppState, Depends(get_state)]


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
    replay_of: int | None = Field(description="The event this one replays, if it is a replay")
    replays: list[int] = Field(description="The events replaying this one, oldest first")
    pruned: bool = Field(default=False, description="Past the tenant's inbox retention window: "
                         "the delivery's body and normalized event are gone, the rest stays")


def _view(tenant_id: str, row: inbox.EventRecord) -> EventView:
    return EventView(
        id=row.id, provider=row.provider, event_name=row.event_name, dedup_key=row.dedup_key,
        workflow_id=event_workflow_id(tenant_id, row.provider, row.dedup_key),
        status=EventStatus(row.status), kind=EventKind(row.kind) if row.kind is not None else None,
        reason=row.reason, agent_ids=row.agent_ids or [], outcomes=row.outcomes or [],
        event=row.event, received_at=row.received_at, relayed_at=row.relayed_at,
        updated_at=row.updated_at, replay_of=row.replay_of, replays=row.replays,
        pruned=row.pruned,
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


@router.get("/{tenant_id}/events/replay", include_in_schema=False)
async def replay_takes_post(tenant_id: str) -> JSONResponse:
    """405: GET .../events/replay is the bulk replay's path, not an event called "replay"."""
    return JSONResponse({"error": "method_not_allowed", "detail": "Method Not Allowed"},
                        status_code=405, headers={"Allow": "POST"})


@router.get("/{tenant_id}/events/{event_id}", summary="Show one event")
async def get_event(tenant_id: str, event_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
                    pool: PoolDep) -> EventView:
    """One event with its normalized form and the agents' outcomes."""
    row = await inbox.get_event(pool, tenant_id, event_id)
    if row is None:
        raise ApiError(404, "unknown_event", f"tenant {tenant_id!r} has no event {event_id}")
    return _view(tenant_id, row)


# The client's key for a replay request: a retry with the same key replays nothing new. It
# goes into the replay's dedup key and workflow id, hence the plain alphabet.
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=r"^[A-Za-z0-9._:~+=-]{1,128}$",
    description="Makes the request safe to retry: a key that replayed before answers with what "
                "it replayed (repeated: true) and replays nothing new. Without one, every "
                "request replays again.")]


class ReplayedEvent(BaseModel):
    """An event and the new event replaying it (``workflow_id``: the replay's workflow)."""

    event_id: int
    replay_id: int
    workflow_id: str


class SingleReplay(ReplayedEvent):
    """One replay; ``repeated``: the Idempotency-Key had made it before, nothing new was made."""

    repeated: bool


class ReplayRequest(BaseModel):
    """Which events to replay (all filters together), oldest first, and whether to only count."""

    model_config = ConfigDict(extra="forbid")

    status: EventStatus | None = None
    kind: EventKind | None = None
    provider: Provider | None = None
    received_after: Instant | None = None
    received_before: Instant | None = None
    limit: int = Field(default=100, ge=1, le=1000, strict=True,
                       description="At most this many events")
    dry_run: bool = Field(default=False, strict=True,
                          description="Count the matching events, replay none")


class DryRun(BaseModel):
    """What the same request without ``dry_run`` would replay now."""

    count: int
    event_ids: list[int]


class BulkReplay(BaseModel):
    """What a bulk replay made; ``repeated``: its Idempotency-Key had made them before."""

    replayed: int
    repeated: bool
    events: list[ReplayedEvent]


def _replayed(tenant_id: str, r: inbox.Replay) -> ReplayedEvent:
    return ReplayedEvent(event_id=r.event_id, replay_id=r.replay_id,
                         workflow_id=event_workflow_id(tenant_id, r.provider, r.dedup_key))


@router.post("/{tenant_id}/events/replay", summary="Replay the events matching a filter",
             response_model=BulkReplay | DryRun)
async def replay_events(tenant_id: str, body: ReplayRequest, pool: PoolDep, state: StateDep,
                        key: IdempotencyKey = None) -> BulkReplay | DryRun:
    """Store each matching delivery again as a new event linked by ``replay_of``, in one
    transaction; the relay runs them like any delivery. ``dry_run`` answers the count first."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    match = inbox.ReplayFilter(
        status=body.status.value if body.status else None,
        kind=body.kind.value if body.kind else None,
        provider=body.provider.value if body.provider else None,
        received_after=body.received_after, received_before=body.received_before,
        limit=body.limit)
    if body.dry_run:
        ids = await inbox.matching_events(pool, tenant_id, match)
        return DryRun(count=len(ids), event_ids=ids)
    done = await inbox.replay(pool, tenant_id, key or uuid.uuid4().hex, match=match)
    if done.replays and not done.repeated:
        state.doorbell.ring()
    return BulkReplay(replayed=len(done.replays), repeated=done.repeated,
                      events=[_replayed(tenant_id, r) for r in done.replays])


@router.post("/{tenant_id}/events/{event_id}/replay", status_code=202,
             summary="Replay one event", responses=error_responses(409))
async def replay_event(tenant_id: str, event_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
                       pool: PoolDep, state: StateDep, response: Response,
                       key: IdempotencyKey = None) -> SingleReplay:
    """Store the delivery again as a new event linked by ``replay_of``; the relay runs it like
    any delivery (202). A retry with the same Idempotency-Key answers 200 with the same replay;
    a key used for another request is a 409, and so is an event retention pruned."""
    event = await inbox.get_event(pool, tenant_id, event_id)
    if event is None:
        raise ApiError(404, "unknown_event", f"tenant {tenant_id!r} has no event {event_id}")
    if event.pruned:
        raise ApiError(409, "event_pruned", f"event {event_id} is past the tenant's inbox "
                       "retention window: its delivery was pruned, there is nothing to replay")
    done = await inbox.replay(pool, tenant_id, key or uuid.uuid4().hex, event_id=event_id)
    mine = [r for r in done.replays if r.event_id == event_id]
    if not mine:
        raise ApiError(409, "idempotency_key_reused",
                       "this Idempotency-Key replayed other events; use a new key")
    if done.repeated:
        response.status_code = 200
    else:
        state.doorbell.ring()
    return SingleReplay(**_replayed(tenant_id, mine[0]).model_dump(), repeated=done.repeated)
