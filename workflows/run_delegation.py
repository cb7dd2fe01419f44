"""A run's ``delegate`` call: child runs of other agents, their answers as the observation.

The gateway decides whom (grant, circuit breaker, audit, depth and fan-out limits:
activities/delegation.py); then, once the kill switch lets new work go, one child
AgentRunWorkflow per agent, ``<run id>/delegate/<agent id>``, on the same queues. Each child is
a run like any other (the kill switch and the breaker at each of its steps, its own delegations
below it); the parent waits for all and sees their final answers as one JSON observation.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from workflows import policies, search
    from workflows.contracts import (
        RUN_VERSION,
        AgentOutcome,
        AgentRunInput,
        GatewayCall,
        ToolCall,
        ToolResult,
    )
    from workflows.contracts.approvals import DelegatedRun, DelegationPlan, DelegationResults
    from workflows.ids import delegate_run_id
    from workflows.names import DELEGATION_PLAN_ACTIVITY

from workflows.gate import hold_while_stopped

TRIGGER = "delegation"


async def delegate(inp: AgentRunInput, call: ToolCall, step: str, delegated: list[str]
                   ) -> ToolResult:
    """Run the children the plan names; their outcomes as the tool's result."""
    assert inp.gateway_queue is not None
    plan: DelegationPlan = await workflow.execute_activity(
        DELEGATION_PLAN_ACTIVITY,
        GatewayCall(tenant_id=inp.event.tenant_id, agent_id=inp.target.agent_id, call=call,
                    idempotency_key=f"{inp.run_id}/{step}", event=inp.event),
        result_type=DelegationPlan, task_queue=inp.gateway_queue, activity_id=f"{step}/delegate",
        start_to_close_timeout=policies.GATEWAY_TIMEOUT, retry_policy=policies.GATEWAY)
    if plan.error is not None:
        return ToolResult(call_id=call.id, name=call.name, content=plan.error, is_error=True)
    await hold_while_stopped()
    event = inp.event.model_copy(update={
        "title": plan.goal[:80], "text": plan.goal, "mentions": [], "assignees": [],
        "facts": {**inp.event.facts, "trigger": TRIGGER, "delegated_by": inp.target.agent_id,
                  "parent_run": inp.run_id}})
    runs = []
    for target in plan.targets:
        first = delegate_run_id(inp.run_id, target.agent_id)
        nth = 1 + sum(1 for r in delegated if r == first or r.startswith(f"{first}."))
        child_id = delegate_run_id(inp.run_id, target.agent_id, nth)
        delegated.append(child_id)
        child = AgentRunInput(run_id=child_id, target=target, event=event,
                              project_id=inp.project_id, gateway_queue=inp.gateway_queue,
                              version=RUN_VERSION)
        runs.append(_run(child, _attributes(inp, target.agent_id)))
    outcomes = await asyncio.gather(*runs)
    results = DelegationResults(results=[
        DelegatedRun(agent=o.agent_id, run_id=o.run_id, status=o.status, answer=o.final,
                     error=None if o.final is not None else o.error) for o in outcomes])
    return ToolResult(call_id=call.id, name=call.name,
                      content=results.model_dump_json(exclude_none=True),
                      is_error=all(o.status != "answered" for o in outcomes))


async def _run(child: AgentRunInput, attributes: TypedSearchAttributes) -> AgentOutcome:
    try:
        outcome: AgentOutcome = await workflow.execute_child_workflow(
            "AgentRunWorkflow", child, id=child.run_id, result_type=AgentOutcome,
            search_attributes=attributes)
        return outcome
    except ChildWorkflowError as err:
        return AgentOutcome(agent_id=child.target.agent_id, run_id=child.run_id,
                            status="failed", error=str(err.cause or err))


def _attributes(inp: AgentRunInput, agent_id: str) -> TypedSearchAttributes:
    return search.run_attributes(inp.event.tenant_id, agent_id, inp.event.kind.value,
                                 inp.project_id, trigger=TRIGGER)
