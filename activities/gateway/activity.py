"""The gateway as a Temporal activity on the gateway queue (called by AgentRunWorkflow)."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway.service import Gateway
from infra.store import control
from workflows.contracts import GatewayCall, ToolResult
from workflows.errors import ErrorType
from workflows.names import GATEWAY_ACTIVITY

HOLD_POLL_SECONDS = 0.25


class GatewayActivities:
    """Runs intents for agents' runs; the credential never leaves this worker."""

    def __init__(self, gateway: Gateway, pool: asyncpg.Pool) -> None:
        self._gateway = gateway
        self._pool = pool

    @activity.defn(name=GATEWAY_ACTIVITY)
    async def gateway_execute(self, call: GatewayCall) -> ToolResult:
        """Execute one intent; refusals and final failures come back as error results.

        The agent sees a refusal or a final error as the tool's answer and can adapt. A
        retryable failure (rate limit, 5xx) raises, so Temporal retries it after the delay the
        remote asked for; the idempotency key keeps every retry to one effect.
        """
        await self._hold_while_stopped(call)
        outcome = await self._gateway.execute(call, source="workflow")
        if outcome.error is not None and outcome.retryable:
            raise ApplicationError(outcome.error, type=ErrorType.GATEWAY_RETRYABLE,
                                   next_retry_delay=outcome.retry_after)
        if outcome.error is not None:
            prefix = "denied" if outcome.denied else "failed"
            return ToolResult(call_id=call.call.id, name=call.call.name,
                              content=f"{prefix}: {outcome.error}", is_error=True)
        return ToolResult(call_id=call.call.id, name=call.call.name,
                          content=json.dumps(outcome.result, sort_keys=True, default=str))

    async def _hold_while_stopped(self, call: GatewayCall) -> None:
        """While the kill switch is on, hold the call (heartbeating): sent after resume."""
        while (await control.is_stopped(self._pool))[0]:
            activity.heartbeat(f"{call.call.name} held by the kill switch")
            await asyncio.sleep(HOLD_POLL_SECONDS)

