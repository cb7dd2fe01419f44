"""Platform activities for the economy (usage rows) and alerts."""

from __future__ import annotations

import logging

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway.service import Gateway
from workflows.contracts import AlertInput, GatewayCall, ToolCall, UsageRecord

log = logging.getLogger(__name__)


class GovernanceActivities:
    """Record what agents cost and what admins must hear about."""

    def __init__(self, pool: asyncpg.Pool, gateway: Gateway | None = None) -> None:
        self._pool = pool
        self._gateway = gateway

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
        """Store an alert, log it, and post it to the tenant's admin Slack channel if set."""
        log.warning("alert %s for tenant %s: %s: %s", alert.kind, alert.tenant_id,
                    alert.subject, alert.detail)
        alert_id = await self._pool.fetchval(
            "WITH ins AS (INSERT INTO alerts (tenant_id, kind, subject, detail)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, kind, subject) DO NOTHING"
            " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM alerts WHERE"
            " tenant_id = $1 AND kind = $2 AND subject = $3 LIMIT 1",
            alert.tenant_id, alert.kind, alert.subject, alert.detail,
        )
        channel = await self._pool.fetchval(
            "SELECT admin_channel FROM tenants WHERE id = $1", alert.tenant_id)
        if channel is None or self._gateway is None:
            return
        # Through the gateway: the bot token stays in the vault, the post is audited, and the
        # alert id as idempotency key posts it once however often this activity is retried.
        outcome = await self._gateway.execute(GatewayCall(
            tenant_id=alert.tenant_id, agent_id="switchboard", idempotency_key=f"alert/{alert_id}",
            call=ToolCall(id=f"alert-{alert_id}", name="slack_post_message", arguments={
                "channel": channel, "text": f":rotating_light: {alert.kind}: {alert.detail}"})),
            source="system", system=True)
        if outcome.error is not None:
            if outcome.retryable:
                raise ApplicationError(outcome.error, next_retry_delay=outcome.retry_after)
            log.warning("alert %s not posted to %s: %s", alert_id, channel, outcome.error)
