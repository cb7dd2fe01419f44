"""The shared kill-switch state (one row), and what applying it does to agents' tokens."""

from __future__ import annotations

import asyncpg

from infra.directory import agents

CHANNEL = "switchboard_control"


async def is_stopped(conn: asyncpg.Pool | asyncpg.Connection) -> tuple[bool, str | None]:
    """(stopped, reason) as the control workflow last applied it."""
    row = await conn.fetchrow("SELECT stopped, reason FROM control_state")
    return (bool(row["stopped"]), row["reason"]) if row is not None else (False, None)


async def apply(pool: asyncpg.Pool, stopped: bool, reason: str | None) -> None:
    """Write the state; on stop revoke every agent token; tell every process (NOTIFY)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE control_state SET stopped = $1, reason = $2, changed_at = now()",
            stopped, reason)
        if stopped:
            await agents.revoke_all_tokens(conn, close_sockets=False)  # closed by CHANNEL
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, "stopped" if stopped else "running")
