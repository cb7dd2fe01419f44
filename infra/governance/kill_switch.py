"""The shared kill-switch state (one row), and what applying it does to agents' tokens.

``apply`` is the switch's one writer: the API, ``switchboard kill`` and the control workflow
(signals and updates from the Temporal UI or CLI) all change it here, each in one transaction.
"""

from __future__ import annotations

import asyncpg

from infra.directory import agents
from workflows.contracts import ControlState

CHANNEL = "switchboard_control"


async def is_stopped(conn: asyncpg.Pool | asyncpg.Connection) -> tuple[bool, str | None]:
    """(stopped, reason) as last applied."""
    row = await conn.fetchrow("SELECT stopped, reason FROM control_state")
    return (bool(row["stopped"]), row["reason"]) if row is not None else (False, None)


async def current(conn: asyncpg.Pool | asyncpg.Connection) -> ControlState:
    """The switch as last applied, with its version (``changes``)."""
    row = await conn.fetchrow("SELECT stopped, reason, version FROM control_state")
    if row is None:
        return ControlState()
    return ControlState(stopped=row["stopped"], reason=row["reason"], changes=row["version"])


async def apply(pool: asyncpg.Pool, stopped: bool, reason: str | None) -> ControlState:
    """Write the state and its next version; on stop revoke every agent token; tell every
    process (NOTIFY). Returns the state as committed: ``changes`` is its version."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE control_state SET stopped = $1, reason = $2, changed_at = now(),"
            " version = version + 1 RETURNING stopped, reason, version", stopped, reason)
        if stopped:
            await agents.revoke_all_tokens(conn, close_sockets=False)  # closed by CHANNEL
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, "stopped" if stopped else "running")
    return ControlState(stopped=row["stopped"], reason=row["reason"], changes=row["version"])
