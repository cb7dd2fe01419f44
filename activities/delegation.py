"""The delegation plan (gateway queue): may this run delegate, and to which agents.

The ``delegate`` call goes through the gateway like any intent (grant, circuit breaker, audit,
idempotency: infra/delegation/intent.py); here the depth and fan-out limits are applied and each
agent found gets the gateway tools it is granted. AgentRunWorkflow starts the child runs.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.gateway.outcome import OutcomeKind
from infra.gateway.service import Gateway, tool
from workflows.contracts import AgentTarget, GatewayCall
from workflows.contracts.approvals import DelegationPlan
from workflows.errors import ErrorType
from workflows.ids import DELEGATE_SEGMENT
from workflows.names import DELEGATION_PLAN_ACTIVITY

_RETRY = (OutcomeKind.RETRYABLE, OutcomeKind.HELD, OutcomeKind.LIMITED)


class DelegationActivities:
    """Plans a run's ``delegate`` calls with the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @activity.defn(name=DELEGATION_PLAN_ACTIVITY)
    async def delegation_plan(self, call: GatewayCall) -> DelegationPlan:
        """The child runs' targets, or why there are none (the agent sees that and adapts)."""
        settings = self._gateway.settings
        run_id = activity.info().workflow_id or ""
        depth = run_id.count(DELEGATE_SEGMENT) + 1
        if depth > settings.delegation_max_depth:
            return DelegationPlan(error=(
                f"denied: this run is already {depth - 1} delegation(s) deep; the limit is "
                f"{settings.delegation_max_depth}: do the task yourself"))
        outcome = await self._gateway.execute(call, source="workflow", workflow_id=run_id or None)
        if outcome.kind in _RETRY:
            raise ApplicationError(outcome.error or outcome.kind,
                                   type=ErrorType.GATEWAY_RETRYABLE,
                                   next_retry_delay=outcome.retry_after)
        if outcome.result is None:
            word = "failed" if outcome.kind is OutcomeKind.FAILED else "denied"
            return DelegationPlan(error=f"{word}: {outcome.error}")
        targets = [AgentTarget.model_validate(t) for t in outcome.result["delegates"]]
        if len(targets) > settings.delegation_max_fanout:
            return DelegationPlan(error=(
                f"denied: {len(targets)} agents answer to that name; one delegate call may start "
                f"at most {settings.delegation_max_fanout}"))
        held: dict[str, list[str]] = outcome.result.get("intents", {})
        intents = self._gateway.intents
        for target in targets:
            target.gateway_tools = [tool(intents[n]) for n in held.get(target.agent_id, [])
                                    if n in intents]
        return DelegationPlan(goal=str(outcome.result["goal"]), targets=targets)
