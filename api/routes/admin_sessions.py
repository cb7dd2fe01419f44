"""Admin: a tenant's agent sessions (one per agent and thread), their turns, and pausing,
resuming or closing them through their SessionWorkflow."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AdminDep, PoolDep, TemporalDep
from api.errors import ApiError
from api.openapi import error_responses
from infra.directory import tenants
from infra.sessions import queries
from infra.sessions.queries import ENDED, SessionStatus
from infra.temporal import LazyClient
from workflows import search

router = APIRouter(prefix="/admin/tenants", tags=["admin: sessions"], dependencies=[AdminDep])

Action = Literal["pause", "resume", "close"]
# How long a pause, resume or close waits on Temporal before answering 503.
SIGNAL_WITHIN_SECONDS = 5.0
SessionId = Annotated[str, Path(min_length=1, max_length=64,
                                description='A session id, e.g. "ses_0123456789abcdef"')]
Cursor = Annotated[str | None, Query(min_length=1, max_length=64)]


class SessionView(BaseModel):
    """One session: an agent's conversation on one thread, run by one SessionWorkflow."""

    id: str = Field(description='The session id ("ses_" and 16 hex digits)')
    agent_id: str = Field(description="The agent this session is for")
    thread: str = Field(description='The thread: "<provider>:<container>:<item>", e.g. '
                                    '"slack:C0123:1700000000.000100"')
    workflow_id: str = Field(description="The SessionWorkflow's id in Temporal (find it in the "
                                         "Temporal UI with SwitchboardSession = id)")
    status: SessionStatus = Field(description=(
        "running: a turn is being thought; waiting: idle until the next message; paused: by an "
        "admin (messages queue up, no turn runs); closed: idle timeout or closed on request; "
        "failed: the session workflow failed"))
    turns: int = Field(description="How many turns the session has taken")
    summary: str | None = Field(description="The folded summary of older turns, if any")
    created_at: datetime
    updated_at: datetime = Field(description="When the row last changed")
    closed_at: datetime | None = Field(description="When it closed (closed sessions only)")


class Message(BaseModel):
    """A message a turn answered."""

    model_config = ConfigDict(extra="allow")

    event_id: int | None = Field(default=None, description="The event that brought it, if any")
    author: str | None = Field(default=None, description="Who wrote it, as the provider names")
    text: str
    at: datetime | None = Field(default=None, description="When it was written")


class ToolCall(BaseModel):
    """A tool the agent called during a turn, and what came back."""

    model_config = ConfigDict(extra="allow")

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str | None = None
    is_error: bool = False


class Turn(BaseModel):
    """One think-act-observe turn of a session."""

    turn: int = Field(description="Its number in the session, from 1")
    status: Literal["running", "done", "failed", "interrupted"]
    messages: list[Message] = Field(description="The messages this turn answered, in order")
    answer: str | None = Field(description="The agent's final answer (null until done)")
    tool_calls: list[ToolCall] = Field(description="Its tool calls, in order")
    started_at: datetime
    finished_at: datetime | None


class SessionDetail(SessionView):
    """A session with all its turns, first to last."""

    history: list[Turn] = Field(description="Its turns, first to last")


class SessionRequested(SessionView):
    """The session as stored when the request was taken; the workflow applies it shortly
    (the status changes in the row then)."""

    requested: Action = Field(description="What was asked of the session's workflow")


def _view(row: queries.SessionRow) -> SessionView:
    return SessionView(
        id=row.id, agent_id=row.agent_id, thread=row.thread, workflow_id=row.workflow_id,
        status=SessionStatus(row.status), turns=row.turns, summary=row.summary,
        created_at=row.created_at, updated_at=row.updated_at, closed_at=row.closed_at)


@router.get("/{tenant_id}/sessions", summary="List sessions, newest first")
async def list_sessions(
    tenant_id: str, pool: PoolDep,
    agent: Annotated[str | None, Query(max_length=200, description="Only this agent's")] = None,
    status: SessionStatus | None = None,
    thread: Annotated[str | None, Query(max_length=1000, description=(
        'Only this thread\'s: "<provider>:<container>:<item>"'))] = None,
    before: Annotated[str | None, Cursor, Query(
        description="Page: sessions older than this session id")] = None,
    after: Annotated[str | None, Cursor, Query(
        description="Page: sessions newer than this session id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SessionView]:
    """Filter by agent, status and thread; page with ``before`` (the last id of a page) or
    ``after`` (the first id of a page), not both. A cursor naming no session of the tenant
    is a 422."""
    if before is not None and after is not None:
        raise ApiError(422, "invalid_request", "give before or after, not both")
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    match = queries.SessionFilter(agent_id=agent, status=status.value if status else None,
                                  thread=thread)
    try:
        rows = await queries.list_sessions(pool, tenant_id, match, before=before, after=after,
                                           limit=limit)
    except queries.UnknownCursor as err:
        raise ApiError(422, "unknown_cursor", f"tenant {tenant_id!r} has no session {err}"
                       ) from None
    return [_view(r) for r in rows]


async def _session(pool: PoolDep, tenant_id: str, session_id: str) -> queries.SessionRow:
    row = await queries.get_session(pool, tenant_id, session_id)
    if row is None:
        raise ApiError(404, "unknown_session", f"tenant {tenant_id!r} has no session "
                                               f"{session_id!r}")
    return row


@router.get("/{tenant_id}/sessions/{session_id}", summary="Show a session with its turns")
async def get_session(tenant_id: str, session_id: SessionId, pool: PoolDep) -> SessionDetail:
    """The session and each turn's messages, answer, tool calls, status and timestamps."""
    row = await _session(pool, tenant_id, session_id)
    turns = [Turn.model_validate(asdict(t)) for t in await queries.list_turns(pool, row.id)]
    return SessionDetail(**_view(row).model_dump(), history=turns)


def _refusal(row: queries.SessionRow, action: Action) -> ApiError | None:
    """Why ``action`` cannot be asked of the session as stored, or None."""
    status = SessionStatus(row.status)
    if status in ENDED:
        return ApiError(409, f"session_{status.value}",
                        f"session {row.id} is {status.value}; nothing to {action}")
    if action == "pause" and status is SessionStatus.PAUSED:
        return ApiError(409, "already_paused", f"session {row.id} is paused already")
    if action == "resume" and status is not SessionStatus.PAUSED:
        return ApiError(409, "not_paused", f"session {row.id} is {status.value}, not paused")
    return None


async def _signal(temporal: LazyClient, row: queries.SessionRow, action: Action) -> None:
    """Signal the session's workflow; 409 if its run has ended or belongs to a newer session,
    503 (with Retry-After) if Temporal cannot be reached in time."""
    ended = ApiError(409, "session_ended", f"session {row.id}'s workflow is no longer running")
    try:
        async with asyncio.timeout(SIGNAL_WITHIN_SECONDS):
            handle = (await temporal.get()).get_workflow_handle(row.workflow_id)
            found = await handle.describe()
            if found.status != WorkflowExecutionStatus.RUNNING or \
                    found.typed_search_attributes.get(search.SESSION) not in (None, row.id):
                raise ended
            await handle.signal(action, rpc_timeout=None)
    except TimeoutError:
        raise ApiError(503, "temporal_unavailable",
                       f"Temporal did not take the {action} within {SIGNAL_WITHIN_SECONDS:g} s;"
                       " retry") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ended from None
        temporal.forget()
        raise ApiError(503, "temporal_unavailable", f"cannot reach Temporal: {err.message}"
                       ) from None
    except (RuntimeError, OSError) as err:
        temporal.forget()
        raise ApiError(503, "temporal_unavailable", f"cannot reach Temporal: {err}") from None


async def _ask(tenant_id: str, session_id: str, action: Action, pool: PoolDep,
               temporal: LazyClient) -> SessionRequested:
    row = await _session(pool, tenant_id, session_id)
    if (refused := _refusal(row, action)) is not None:
        raise refused
    await _signal(temporal, row, action)
    now = await queries.get_session(pool, tenant_id, session_id) or row
    return SessionRequested(**_view(now).model_dump(), requested=action)


_WRITE_ERRORS = {
    **error_responses(409),
    503: {"description": "The database or Temporal is unreachable: nothing was asked; retry "
                         "after Retry-After seconds"},
}


@router.post("/{tenant_id}/sessions/{session_id}/pause", status_code=202,
             summary="Pause a session", responses=_WRITE_ERRORS)
async def pause_session(tenant_id: str, session_id: SessionId, pool: PoolDep,
                        temporal: TemporalDep) -> SessionRequested:
    """Ask the session's workflow to pause: messages for the thread queue up and no turn runs
    until it is resumed (a turn already running finishes). 409 if it is paused already,
    closed or failed."""
    return await _ask(tenant_id, session_id, "pause", pool, temporal)


@router.post("/{tenant_id}/sessions/{session_id}/resume", status_code=202,
             summary="Resume a paused session", responses=_WRITE_ERRORS)
async def resume_session(tenant_id: str, session_id: SessionId, pool: PoolDep,
                         temporal: TemporalDep) -> SessionRequested:
    """Ask the session's workflow to resume: the queued messages are answered. 409 unless it
    is paused."""
    return await _ask(tenant_id, session_id, "resume", pool, temporal)


@router.post("/{tenant_id}/sessions/{session_id}/close", status_code=202,
             summary="Close a session", responses=_WRITE_ERRORS)
async def close_session(tenant_id: str, session_id: SessionId, pool: PoolDep,
                        temporal: TemporalDep) -> SessionRequested:
    """Ask the session's workflow to close, as an idle timeout does (its summary goes to the
    agent's memory); the thread's next message starts a new session. 409 if it is closed or
    failed already."""
    return await _ask(tenant_id, session_id, "close", pool, temporal)
