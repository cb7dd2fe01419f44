"""Reading sessions and their turns for the admin API and CLI (reads only).

The one writer of ``sessions`` and ``session_turns`` is infra/sessions/store.py; this module
never writes them. Lists are newest first by (created_at, id), paged by a session id as the
cursor: ``before`` gives the older page, ``after`` the newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg


class SessionStatus(StrEnum):
    """A session's state, as the SessionWorkflow records it in its row."""

    RUNNING = "running"  # a turn is being thought
    WAITING = "waiting"  # idle, waiting for the next message
    PAUSED = "paused"  # paused by an admin: messages queue up, no turn runs
    CLOSED = "closed"  # idle timeout or closed on request
    FAILED = "failed"  # the session workflow failed


ENDED = frozenset({SessionStatus.CLOSED, SessionStatus.FAILED})


@dataclass(frozen=True)
class SessionRow:
    """One session: an agent's work on one thread of a tenant."""

    id: str
    tenant_id: str
    agent_id: str
    thread: str
    workflow_id: str
    status: str
    turns: int
    summary: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class TurnRow:
    """One turn of a session: the messages it answered, its answer and its tool calls."""

    turn: int
    messages: list[dict[str, Any]]
    answer: str | None
    tool_calls: list[dict[str, Any]]
    status: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions of a tenant a list takes (all conditions together)."""

    agent_id: str | None = None
    status: str | None = None
    thread: str | None = None


class UnknownCursor(LookupError):
    """A page cursor that names no session of the tenant."""


_COLUMNS = ("id, tenant_id, agent_id, thread, workflow_id, status, turns, summary, created_at,"
            " updated_at, closed_at")


async def get_session(pool: asyncpg.Pool, tenant_id: str, session_id: str) -> SessionRow | None:
    """One of a tenant's sessions, or None (another tenant's session is None too)."""
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2",
        tenant_id, session_id)
    return SessionRow(**dict(row)) if row is not None else None


async def list_sessions(pool: asyncpg.Pool, tenant_id: str, match: SessionFilter, *,
                        before: str | None = None, after: str | None = None,
                        limit: int = 50) -> list[SessionRow]:
    """A tenant's sessions, newest first; the page older than ``before`` or newer than
    ``after`` (a session id each); raises UnknownCursor for a cursor naming no session."""
    cursor_id = before or after
    cursor: SessionRow | None = None
    if cursor_id is not None:
        cursor = await get_session(pool, tenant_id, cursor_id)
        if cursor is None:
            raise UnknownCursor(cursor_id)
    newer = after is not None
    side, order = (">", "") if newer else ("<", " DESC")
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM sessions WHERE tenant_id = $1"
        " AND ($2::text IS NULL OR agent_id = $2)"
        " AND ($3::text IS NULL OR status = $3)"
        " AND ($4::text IS NULL OR thread = $4)"
        f" AND ($5::timestamptz IS NULL OR (created_at, id) {side} ($5, $6::text))"
        f" ORDER BY created_at{order}, id{order} LIMIT $7",
        tenant_id, match.agent_id, match.status, match.thread,
        cursor.created_at if cursor else None, cursor.id if cursor else None, limit)
    found = [SessionRow(**dict(r)) for r in rows]
    return found[::-1] if newer else found


async def list_turns(pool: asyncpg.Pool, session_id: str) -> list[TurnRow]:
    """A session's turns, first to last (the caller has checked the session's tenant)."""
    rows = await pool.fetch(
        "SELECT turn, messages, answer, tool_calls, status, started_at, finished_at"
        " FROM session_turns WHERE session_id = $1 ORDER BY turn", session_id)
    return [TurnRow(**dict(r)) for r in rows]
