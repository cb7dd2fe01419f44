"""Approval activities: settle a run's approval (gateway queue) and read a Slack click (platform).

``approval_settle`` runs where the gateway runs (it shows the outcome in Slack with the bot
token). ``decide_click`` is the EventWorkflow's local activity for an ``interaction`` event: a
click on Approve or Deny, decided here; the workflow then wakes the waiting run by signal.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.approvals import decide, store
from infra.approvals.blocks import APPROVE, DENY, ApprovalOutcome
from infra.approvals.slack import UPDATE
from infra.gateway import store as gateway_store
from infra.gateway.outcome import OutcomeKind
from infra.gateway.service import Gateway
from workflows.contracts import GatewayCall, StandardEvent, ToolCall
from workflows.contracts.approvals import (
    ApprovalClick,
    ApprovalDecision,
    ApprovalSettled,
    SettleInput,
)
from workflows.errors import ErrorType
from workflows.names import APPROVAL_SETTLE_ACTIVITY

_RETRY = (OutcomeKind.RETRYABLE, OutcomeKind.HELD, OutcomeKind.LIMITED)


class ApprovalActivities:
    """The gateway side of approvals (the Slack message's outcome needs the bot token)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @activity.defn(name=APPROVAL_SETTLE_ACTIVITY)
    async def approval_settle(self, inp: SettleInput) -> ApprovalSettled:
        """The approval's final state (expired first if the run's wait ran out), shown in Slack;
        a denial or expiry is also written to the gateway's audit for the held call."""
        pool = self._gateway.pool
        row = (await decide.expire(pool, inp.tenant_id, inp.approval_id) if inp.expired
               else await store.get(pool, inp.tenant_id, inp.approval_id))
        if row is None:
            return ApprovalSettled(state="denied", reason="the approval no longer exists")
        if row.state != "pending" and row.channel and row.message_ts:
            outcome = ApprovalOutcome(
                approval_id=row.id, channel=row.channel, agent_id=row.agent_id,
                intent=row.intent, resource=row.resource, arguments=row.arguments,
                args_hash=row.args_hash, timeout_seconds=row.timeout_seconds,
                approvers=row.approvers, approver_group=row.approver_group, ts=row.message_ts,
                state=row.state, decided_by=row.decided_by, reason=row.reason)
            shown = await self._gateway.execute(GatewayCall(
                tenant_id=row.tenant_id, agent_id=row.agent_id,
                call=ToolCall(id=f"{row.id}/update", name=UPDATE, target="gateway",
                              arguments=outcome.model_dump(mode="json")),
                idempotency_key=f"approval/{row.id}/update"), "workflow", system=True)
            if shown.kind in _RETRY:
                raise ApplicationError(shown.error or shown.kind, type=ErrorType.GATEWAY_RETRYABLE,
                                       next_retry_delay=shown.retry_after)
        if row.state in ("denied", "expired"):
            detail = (f"approval {row.id} expired after {row.timeout_seconds} s"
                      if row.state == "expired" else
                      f"approval {row.id} denied by {row.decided_by}"
                      + (f": {row.reason}" if row.reason else ""))
            await gateway_store.audit(
                pool, tenant_id=row.tenant_id, agent_id=row.agent_id, intent=row.intent,
                resource=row.resource, decision="denied", outcome="refused", detail=detail,
                duration_ms=0, idempotency_key=row.request_key, source="workflow")
        return ApprovalSettled(state=row.state,  # type: ignore[arg-type]
                               decided_by=row.decided_by, reason=row.reason)


class ApprovalClicks:
    """Reads a click on an approval's buttons (platform queue, local activity)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="decide_click")
    async def decide_click(self, event: StandardEvent) -> ApprovalClick:
        """Decide the approval the click names, if the clicker may; whom to wake."""
        facts = event.facts
        action, approval_id, user = facts.get("action_id"), facts.get("value"), facts.get("user_id")
        if action not in (APPROVE, DENY) or not isinstance(approval_id, str):
            return ApprovalClick(note="not an approval button")
        if not isinstance(user, str):
            return ApprovalClick(note="a click without a user")
        decision = await decide.decide(self._pool, event.tenant_id, approval_id,
                                       approve=action == APPROVE, actor=user, via="slack")
        if decision.verdict != "decided" or decision.approval is None:
            return ApprovalClick(note=decision.detail)
        return ApprovalClick(workflow_id=decision.approval.workflow_id,
                             decision=ApprovalDecision(approval_id=approval_id,
                                                       approved=action == APPROVE))
