"""Platform activities for the economy (usage rows) and alerts."""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from infra.directory import tenants
from infra.gateway.outcome import OutcomeKind
from infra.gateway.service import Gateway
from infra.governance import alerts, usage
from workflows.contracts import AlertInput, GatewayCall, ToolCall, UsageRecord
from workflows.errors import ErrorType

log = logging.getLogger(__name__)

# A held alert's post is retried 1 s, 2 s, ... apart, never more than this: after a long stop it
# goes out within this of resume, and a thousand held alerts cost at most 100 attempts a second.
HELD_RETRY_CAP = timedelta(seconds=10)


class GovernanceActivities:
    """Record what agents cost and what admins must hear about."""

    def __init__(self, pool: asyncpg.Pool, gateway: Gateway | None = None) -> None:
        self._pool = pool
        self._gateway = gateway

    @activity.defn(name="record_usage")
    async def record_usage(self, record: UsageRecord) -> None:
        """Store one think's usage (once, even if the activity is retried)."""
        await usage.record_usage(self._pool, record)

    @activity.defn(name="raise_alert")
    async def raise_alert(self, alert: AlertInput) -> None:
        """Store an alert, log it, and post it to the tenant's admin Slack channel if set.

        The alert is stored at once; its post goes through the gateway, which holds it while the
        kill switch is on: this activity is then retried (Temporal owns the wait: 1 s, 2 s, ...
        at most HELD_RETRY_CAP apart) and the post goes out once, after resume.
        """
        attempt = activity.info().attempt
        first = attempt == 1
        if first:
            log.warning("alert %s for tenant %s: %s: %s", alert.kind, alert.tenant_id,
                        alert.subject, alert.detail)
        alert_id = await alerts.store_alert(
            self._pool, alert.tenant_id, alert.kind, alert.subject, alert.detail)
        channel = await tenants.admin_channel(self._pool, alert.tenant_id)
        if channel is None or self._gateway is None:
            return
        # Through the gateway: the bot token stays in the vault, the post is audited, and the
        # alert id as idempotency key posts it once however often this activity is retried.
        outcome = await self._gateway.execute(GatewayCall(
            tenant_id=alert.tenant_id, agent_id="switchboard", idempotency_key=f"alert/{alert_id}",
            call=ToolCall(id=f"alert-{alert_id}", name="slack_post_message", arguments={
                "channel": channel, "text": f":rotating_light: {alert.kind}: {alert.detail}"})),
            source="system", system=True)
        if outcome.kind is OutcomeKind.HELD:
            if first:
                log.info("alert %s: Slack post held by the kill switch until resume", alert_id)
            # Benign: an expected wait, not logged as a failure on every attempt.
            raise ApplicationError(
                outcome.error or "held by the kill switch", type=ErrorType.HELD_BY_KILL_SWITCH,
                category=ApplicationErrorCategory.BENIGN,
                next_retry_delay=min((outcome.retry_after or HELD_RETRY_CAP) * attempt,
                                     HELD_RETRY_CAP))
        if outcome.kind in (OutcomeKind.RETRYABLE, OutcomeKind.LIMITED):
            raise ApplicationError(outcome.error or outcome.kind,
                                   next_retry_delay=outcome.retry_after)
        if outcome.error is not None:
            log.warning("alert %s not posted to %s: %s", alert_id, channel, outcome.error)
