"""Reading usage totals and alerts."""

from __future__ import annotations

from typing import Any

import asyncpg


async def usage_totals(pool: asyncpg.Pool, tenant_id: str | None) -> list[dict[str, Any]]:
    """LLM tokens, tool calls, thinks and time by tenant and agent (one tenant or all)."""
    rows = await pool.fetch(
        "SELECT tenant_id, agent_id, count(*) AS thinks, count(DISTINCT run_id) AS runs,"
        " sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,"
        " sum(tool_calls)::bigint AS tool_calls, sum(duration_ms)::bigint AS duration_ms"
        " FROM usage WHERE ($1::text IS NULL OR tenant_id = $1)"
        " GROUP BY tenant_id, agent_id ORDER BY tenant_id, agent_id",
        tenant_id,
    )
    return [dict(r) for r in rows]


async def list_alerts(pool: asyncpg.Pool, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    """A tenant's alerts, newest first."""
    rows = await pool.fetch(
        "SELECT id, kind, subject, detail, created_at FROM alerts WHERE tenant_id = $1"
        " ORDER BY id DESC LIMIT $2", tenant_id, limit)
    return [dict(r) for r in rows]
