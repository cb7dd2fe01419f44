"""Platform activities for the economy (usage rows) and alerts."""

from __future__ import annotations

import logging

import asyncpg
from temporalio import activity

from workflows.contracts import AlertInput, UsageRecord

log = logging.getLogger(__name__)


class GovernanceActivities:
    """Record what agents cost and what admins must hear about."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="record_usage")
    async def record_usage(self, usage: UsageRecord) -> None:
        """Store one think's usage (once, even if the activity is retried)."""
        await self._pool.execute(
            "INSERT INTO usage (tenant_id, agent_id, run_id, turn, model, input_tokens,"
            " output_tokens, tool_calls, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (run_id, turn) DO NOTHING",
            usage.tenant_id, usage.agent_id, usage.run_id, usage.turn, usage.model,
            usage.input_tokens, usage.output_tokens, usage.tool_calls, usage.duration_ms,
        )

    @activity.defn(name="raise_alert")
    async def raise_alert(self, alert: AlertInput) -> None:
        """Store an alert for the tenant's admins and log it."""
        log.warning("alert %s for tenant %s: %s: %s", alert.kind, alert.tenant_id,
                    alert.subject, alert.detail)
        await self._pool.execute(
            "INSERT INTO alerts (tenant_id, kind, subject, detail) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tenant_id, kind, subject) DO NOTHING",
            alert.tenant_id, alert.kind, alert.subject, alert.detail,
        )
