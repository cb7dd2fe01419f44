"""The gateway as a Temporal activity on the gateway queue (called by AgentRunWorkflow)."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.gateway.outcome import OutcomeKind
from infra.gateway.service import Gateway
from workflows.contracts import GatewayCall, ToolResult
from workflows.errors import ErrorType
from workflows.names import GATEWAY_ACTIVITY

HOLD_POLL_SECONDS = 0.25

# What the run sees of each kind: the result; a refusal or a final failure as the tool's answer
# (with this word first), so the agent can adapt; or a retry Temporal owns, after the delay
# the gateway asked for (the idempotency key keeps every retry to one effect).
ACTION: dict[OutcomeKind, Literal["result", "denied", "failed", "retry"]] = {
    OutcomeKind.OK: "result",
    OutcomeKind.REPLAYED: "result",
    OutcomeKind.INVALID: "denied",
    OutcomeKind.DENIED: "denied",
    OutcomeKind.FAILED: "failed",
    OutcomeKind.LIMITED: "retry",
    OutcomeKind.HELD: "retry",
    OutcomeKind.RETRYABLE: "retry",
}


class GatewayActivities:
    """Runs intents for agents' runs; the credential never leaves this worker."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @activity.defn(name=GATEWAY_ACTIVITY)
    async def gateway_execute(self, call: GatewayCall) -> ToolResult:
        """Execute one intent; refusals and final failures come back as error results.

        The agent sees a refusal or a final error as the tool's answer and can adapt. A
        retryable failure (rate limit, 5xx) raises, so Temporal retries it after the delay the
        remote asked for; the idempotency key keeps every retry to one effect.
        """
        run = activity.info().workflow_id  # a held call's run waits on the approval
        outcome = await self._gateway.execute(call, source="workflow", workflow_id=run)
        while outcome.kind is OutcomeKind.HELD:  # the kill switch is on: hold, heartbeating
            activity.heartbeat(f"{call.call.name} held by the kill switch")
            await asyncio.sleep(HOLD_POLL_SECONDS)
            outcome = await self._gateway.execute(call, source="workflow", workflow_id=run)
        if outcome.pending is not None:  # a person must approve it first: the run waits
            return ToolResult(call_id=call.call.id, name=call.call.name,
                              content=f"waiting: {outcome.error}", approval=outcome.pending)
        action = ACTION[outcome.kind]
        if action == "retry":
            raise ApplicationError(outcome.error or outcome.kind,
                                   type=ErrorType.GATEWAY_RETRYABLE,
                                   next_retry_delay=outcome.retry_after)
        if action == "result":
            return ToolResult(call_id=call.call.id, name=call.call.name,
                              content=json.dumps(outcome.result, sort_keys=True, default=str))
        return ToolResult(call_id=call.call.id, name=call.call.name,
                          content=f"{action}: {outcome.error}", is_error=True)
