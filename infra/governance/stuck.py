"""What happens to a stuck agent: paused, alerted, its sockets closed (in every API process)."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from infra.directory import agents
from infra.directory.closes import AGENTS_CHANNEL as AGENTS_CHANNEL
from infra.directory.closes import SocketClose, Why
from infra.governance import alerts

log = logging.getLogger(__name__)

def close_payload(tenant_id: str, agent_id: str) -> str:
    """The NOTIFY that closes a stuck agent's sockets (infra/directory/closes.py)."""
    return SocketClose(Why.STUCK, tenant_id, agent_id).payload()


def parse_close(payload: str) -> tuple[str, str] | None:
    """(tenant, agent id) of a NOTIFY closing one agent's sockets, or None if not one."""
    close = SocketClose.parse(payload)
    if close is None or close.tenant_id is None or close.agent_id is None:
        return None
    return close.tenant_id, close.agent_id


class StuckAgents:
    """Handles the circuit breaker's "stuck agent" verdict."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __call__(self, tenant_id: str, agent_id: str, reason: str) -> None:
        """Pause the agent until an admin resumes it, raise the alert, close its sockets."""
        log.warning("stuck agent %s of tenant %s: %s", agent_id, tenant_id, reason)
        async with self._pool.acquire() as conn, conn.transaction():
            await agents.pause(conn, tenant_id, agent_id, Why.STUCK)  # NOTIFYs the close
            await alerts.store_stuck_alert(
                conn, tenant_id, agent_id, f"{reason}; agent paused until an admin resumes it")


async def stuck_since(pool: asyncpg.Pool, since: datetime) -> list[tuple[str, str]]:
    """(tenant, agent) of every agent found stuck since ``since`` (whose sockets must close)."""
    rows = await pool.fetch(
        "SELECT DISTINCT tenant_id, split_part(subject, '@', 1) AS agent_id FROM alerts"
        " WHERE kind = 'stuck_agent' AND created_at >= $1", since)
    return [(r["tenant_id"], r["agent_id"]) for r in rows]
