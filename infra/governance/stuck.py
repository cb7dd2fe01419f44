"""What happens to a stuck agent: paused, alerted, its sockets closed (in every API process)."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from infra.directory import agents
from infra.governance import alerts

log = logging.getLogger(__name__)

AGENTS_CHANNEL = "switchboard_agents"
_CLOSE = "close:"


def close_payload(tenant_id: str, agent_id: str) -> str:
    """The NOTIFY that closes one agent's sockets: ``close:<tenant>/<agent id>``."""
    return f"{_CLOSE}{tenant_id}/{agent_id}"


def parse_close(payload: str) -> tuple[str, str] | None:
    """(tenant, agent id) of a close NOTIFY, or None if the payload is not one."""
    tenant_id, slash, agent_id = payload.removeprefix(_CLOSE).partition("/")
    if not payload.startswith(_CLOSE) or not slash or not tenant_id or not agent_id:
        return None
    return tenant_id, agent_id


class StuckAgents:
    """Handles the circuit breaker's "stuck agent" verdict."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __call__(self, tenant_id: str, agent_id: str, reason: str) -> None:
        """Pause the agent until an admin resumes it, raise the alert, close its sockets."""
        log.warning("stuck agent %s of tenant %s: %s", agent_id, tenant_id, reason)
        async with self._pool.acquire() as conn, conn.transaction():
            await agents.pause(conn, tenant_id, agent_id)
            await alerts.store_stuck_alert(
                conn, tenant_id, agent_id, f"{reason}; agent paused until an admin resumes it")
            await conn.execute("SELECT pg_notify($1, $2)", AGENTS_CHANNEL,
                               close_payload(tenant_id, agent_id))


async def stuck_since(pool: asyncpg.Pool, since: datetime) -> list[tuple[str, str]]:
    """(tenant, agent) of every agent found stuck since ``since`` (whose sockets must close)."""
    rows = await pool.fetch(
        "SELECT DISTINCT tenant_id, split_part(subject, '@', 1) AS agent_id FROM alerts"
        " WHERE kind = 'stuck_agent' AND created_at >= $1", since)
    return [(r["tenant_id"], r["agent_id"]) for r in rows]
