"""AgentRunWorkflow: one agent's Think-Act-Observe loop on one event."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from activities.governance import GovernanceActivities
    from workflows import policies, search
    from workflows.contracts import (
        RUN_VERSION,
        AgentOutcome,
        AgentProfile,
        AgentRunInput,
        AlertInput,
        GatewayCall,
        Step,
        ThinkInput,
        ThinkOutput,
        ToolCall,
        ToolInput,
        ToolResult,
        UsageRecord,
    )
    from workflows.contracts.agents import require_known
    from workflows.contracts.approvals import ApprovalDecision
    from workflows.contracts.conversation import ToolLog
    from workflows.ids import agent_task_queue
    from workflows.names import DELEGATE_INTENT, GATEWAY_ACTIVITY, THINK_ACTIVITY, TOOL_ACTIVITY

from workflows.gate import hold_while_stopped
from workflows.run_approval import wait_for_approval
from workflows.run_delegation import delegate

# Histories begun before these replay without them: a held call was an error result there, and
# ``delegate`` an unknown intent.
APPROVALS_PATCH = "approvals"
DELEGATION_PATCH = "delegation"
# A think's usage is written by a local activity, inside the workflow task that took the think's
# result, instead of an activity task and one more workflow task per think (issue #17). Runs
# started with ``AgentRunInput.version`` 1 (RUN_VERSION) do so without this marker (and its
# TemporalChangeVersion upsert); it stands for the change in runs begun before versions.
USAGE_LOCAL_PATCH = "usage-local"


@workflow.defn(name="AgentRunWorkflow")
class AgentRunWorkflow:
    """Think on the agent's own queue; run the tools it asks for; stop at an answer or max turns.

    Both steps run on ``agent.<tenant>.<agent id>``: if no worker of that agent is up, the task
    waits in the queue (the swarm's durable buffer) until the agent's expiry window runs out. Each
    step is an activity, so a step that completed is never run again, even if the worker dies
    after it.
    """

    def __init__(self) -> None:
        """No approval decided yet, no child run started."""
        self._decided: set[str] = set()
        self._delegated: list[str] = []

    @workflow.signal(name="approval_decided")
    def approval_decided(self, decision: ApprovalDecision) -> None:
        """A person decided an approval this run waits on (the decision is in the database)."""
        self._decided.add(decision.approval_id)

    @workflow.run
    async def run(self, inp: AgentRunInput) -> AgentOutcome:
        """Loop until the agent gives a final answer."""
        require_known(inp.version, RUN_VERSION, "AgentRunWorkflow")
        target = inp.target
        profile = AgentProfile(agent_id=target.agent_id, name=target.name or target.agent_id,
                               role=target.role)
        steps: list[Step] = []
        calls = 0
        for turn in range(1, target.max_turns + 1):
            if turn > 1:  # the first think was gated at dispatch a moment ago
                await hold_while_stopped()
            started = workflow.now()
            try:
                decision = await workflow.execute_activity(
                    THINK_ACTIVITY,
                    ThinkInput(run_id=inp.run_id, agent_id=target.agent_id, profile=profile,
                               turn=turn, max_turns=target.max_turns, event=inp.event,
                               steps=steps, gateway_tools=target.gateway_tools,
                               context=inp.context, memory=inp.memory or target.memory,
                               conversation=inp.conversation),
                    result_type=ThinkOutput,
                    task_queue=agent_task_queue(inp.event.tenant_id, target.agent_id),
                    activity_id=f"think/{turn}",
                    schedule_to_start_timeout=policies.seconds(target.queue_expiry_seconds),
                    start_to_close_timeout=policies.THINK_TIMEOUT,
                    heartbeat_timeout=policies.AGENT_HEARTBEAT_TIMEOUT,
                    retry_policy=policies.THINK,
                )
            except ActivityError as err:
                return await self._failed(inp, err, turn - 1, calls)
            await self._usage(inp, turn, decision, started)
            if decision.final is not None:
                return self._finish(AgentOutcome(
                    agent_id=target.agent_id, run_id=inp.run_id, final=decision.final,
                    turns=turn, tool_calls=calls, tool_log=session_log(inp, steps)))
            results = await asyncio.gather(
                *(self._tool(inp, turn, i, call) for i, call in enumerate(decision.tool_calls)))
            calls += len(results)
            steps = [*steps, Step(thought=decision.thought, tool_calls=decision.tool_calls,
                                  results=list(results))]
        return self._finish(AgentOutcome(
            agent_id=target.agent_id, run_id=inp.run_id, status="max_turns", turns=target.max_turns,
            tool_calls=calls, error=f"no final answer after {target.max_turns} turns"))

    async def _tool(self, inp: AgentRunInput, turn: int, index: int, call: ToolCall
                    ) -> ToolResult:
        step = f"tool/{turn}/{index}"
        try:
            if call.target == "gateway" and inp.gateway_queue is None:
                return ToolResult(call_id=call.id, name=call.name, is_error=True,
                                  content="tool failed: this run was given no gateway queue")
            if (call.target == "gateway" and call.name == DELEGATE_INTENT
                    and (inp.version >= 1 or workflow.patched(DELEGATION_PATCH))):
                return await delegate(inp, call, step, self._delegated)
            if call.target == "gateway":
                # Credentials stay in the gateway: the agent's worker never sees them. The key
                # is stable across retries, so a retried step acts once.
                gateway_result: ToolResult = await workflow.execute_activity(
                    GATEWAY_ACTIVITY,
                    GatewayCall(tenant_id=inp.event.tenant_id, agent_id=inp.target.agent_id,
                                call=call, idempotency_key=f"{inp.run_id}/{step}",
                                event=inp.event),
                    result_type=ToolResult,
                    task_queue=inp.gateway_queue,
                    activity_id=step,
                    start_to_close_timeout=policies.GATEWAY_TIMEOUT,
                    heartbeat_timeout=policies.GATEWAY_HEARTBEAT_TIMEOUT,
                    retry_policy=policies.GATEWAY,
                )
                if gateway_result.approval is not None and (
                        inp.version >= 1 or workflow.patched(APPROVALS_PATCH)):
                    return await wait_for_approval(inp, call, step, gateway_result.approval,
                                                   self._decided)
                return gateway_result
            result: ToolResult = await workflow.execute_activity(
                TOOL_ACTIVITY,
                ToolInput(run_id=inp.run_id, agent_id=inp.target.agent_id,
                          tenant_id=inp.event.tenant_id, turn=turn, call=call),
                result_type=ToolResult,
                task_queue=agent_task_queue(inp.event.tenant_id, inp.target.agent_id),
                activity_id=step,
                start_to_close_timeout=policies.TOOL_TIMEOUT,
                heartbeat_timeout=policies.AGENT_HEARTBEAT_TIMEOUT,
                retry_policy=policies.TOOL,
            )
            return result
        except ActivityError as err:  # the agent sees the failure and can adapt
            cause = str(err.cause) if err.cause else str(err)
            return ToolResult(call_id=call.id, name=call.name, content=f"tool failed: {cause}",
                              is_error=True)

    @staticmethod
    async def _usage(inp: AgentRunInput, turn: int, decision: ThinkOutput, started: datetime
                     ) -> None:
        if decision.usage is None:
            return
        elapsed = workflow.now() - started
        record = UsageRecord(tenant_id=inp.event.tenant_id, agent_id=inp.target.agent_id,
                             run_id=inp.run_id, turn=turn, model=decision.usage.model,
                             input_tokens=decision.usage.input_tokens,
                             output_tokens=decision.usage.output_tokens,
                             tool_calls=len(decision.tool_calls),
                             duration_ms=int(elapsed.total_seconds() * 1000))
        if inp.version >= 1 or workflow.patched(USAGE_LOCAL_PATCH):
            await workflow.execute_local_activity_method(
                GovernanceActivities.record_usage, record,
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
            return
        await workflow.execute_activity_method(
            GovernanceActivities.record_usage, record, activity_id=f"usage/{turn}",
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP,
        )

    async def _failed(self, inp: AgentRunInput, err: ActivityError, turns: int, calls: int
                      ) -> AgentOutcome:
        cause = err.cause
        if isinstance(cause, TimeoutError) and cause.type is TimeoutType.SCHEDULE_TO_START:
            window = inp.target.queue_expiry_seconds
            detail = (f"no worker of agent {inp.target.agent_id} took the work within {window} s;"
                      " the run expired and was not handed to the agent")
            await workflow.execute_activity_method(
                GovernanceActivities.raise_alert,
                AlertInput(tenant_id=inp.event.tenant_id, kind="run_expired",
                           subject=inp.run_id, detail=detail),
                activity_id="alert/expired",
                start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                retry_policy=policies.DB_STEP,
            )
            return self._finish(AgentOutcome(
                agent_id=inp.target.agent_id, run_id=inp.run_id, status="expired", error=detail,
                turns=turns, tool_calls=calls))
        message = str(cause) if cause is not None else str(err)
        return self._finish(AgentOutcome(
            agent_id=inp.target.agent_id, run_id=inp.run_id, status="failed",
            error=f"think failed: {message}", turns=turns, tool_calls=calls))

    def _finish(self, outcome: AgentOutcome) -> AgentOutcome:
        workflow.upsert_search_attributes([search.STATUS.value_set(outcome.status)])
        if self._delegated:
            return outcome.model_copy(update={"delegated": list(self._delegated)})
        return outcome


def session_log(inp: AgentRunInput, steps: list[Step]) -> list[ToolLog]:
    """A session turn's tools and results, for the conversation's next think (none outside a
    session: an event's outcome stays as it was)."""
    if inp.conversation is None:
        return []
    return [ToolLog(name=call.name, arguments=call.arguments, result=result.content,
                    is_error=result.is_error)
            for step in steps for call, result in zip(step.tool_calls, step.results, strict=False)]
