"""The usage table: what each think of an agent cost (tokens, tool calls, time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from infra.database import delete_in_batches
from workflows.contracts import UsageRecord


@dataclass(frozen=True)
class UsageTotals:
    """What one agent of one tenant has used."""

    tenant_id: str
    agent_id: str
    runs: int
    thinks: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    duration_ms: int


async def usage_totals(pool: asyncpg.Pool, tenant_id: str | None) -> list[UsageTotals]:
    """LLM tokens, tool calls, thinks and time by tenant and agent (one tenant or all)."""
    rows = await pool.fetch(
        "SELECT tenant_id, agent_id, count(*) AS thinks, count(DISTINCT run_id) AS runs,"
        " sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,"
        " sum(tool_calls)::bigint AS tool_calls, sum(duration_ms)::bigint AS duration_ms"
        " FROM usage WHERE ($1::text IS NULL OR tenant_id = $1)"
        " GROUP BY tenant_id, agent_id ORDER BY tenant_id, agent_id",
        tenant_id,
    )
    return [UsageTotals(**dict(r)) for r in rows]


async def record_usage(pool: asyncpg.Pool, usage: UsageRecord) -> None:
    """Store one think's usage (once: a repeated run and turn is ignored)."""
    await pool.execute(
        "INSERT INTO usage (tenant_id, agent_id, run_id, turn, model, input_tokens,"
        " output_tokens, tool_calls, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (run_id, turn) DO NOTHING",
        usage.tenant_id, usage.agent_id, usage.run_id, usage.turn, usage.model,
        usage.input_tokens, usage.output_tokens, usage.tool_calls, usage.duration_ms,
    )


async def prune_usage(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int) -> int:
    """Delete a tenant's usage rows recorded before ``before``; return how many (retention)."""
    return await delete_in_batches(
        pool, "DELETE FROM usage WHERE ctid = ANY(ARRAY(SELECT ctid FROM usage"
        " WHERE tenant_id = $1 AND created_at < $2 LIMIT $3))", tenant_id, before, batch=batch)
