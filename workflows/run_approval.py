"""A run's wait for a person's approval of one tool call (README, Approvals).

The gateway answered the call with a ``pending`` ticket: the run waits durably on the signal
``approval_decided`` or the ticket's timeout (a workflow timer, not a blocked activity), then
settles the approval on the gateway queue (an expiry denies it, unless someone decided first;
the Slack message shows the outcome) and, if approved, calls the gateway again with the
approval's id: the same idempotency key, so the call acts once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import policies, search
    from workflows.contracts import AgentRunInput, GatewayCall, ToolCall, ToolResult
    from workflows.contracts.approvals import ApprovalSettled, PendingApproval, SettleInput
    from workflows.names import APPROVAL_SETTLE_ACTIVITY, GATEWAY_ACTIVITY


async def wait_for_approval(inp: AgentRunInput, call: ToolCall, step: str,
                            pending: PendingApproval, decided: set[str]) -> ToolResult:
    """The call's result once approved, or a denial the agent sees as an observation."""
    assert inp.gateway_queue is not None  # the gateway answered, so the run has its queue
    deadline = workflow.now() + timedelta(seconds=pending.timeout_seconds)
    workflow.upsert_search_attributes([search.STATUS.value_set("waiting")])
    while True:
        left = max(deadline - workflow.now(), timedelta(0))
        try:
            await workflow.wait_condition(lambda: pending.approval_id in decided, timeout=left)
            expired = False
        except TimeoutError:
            expired = True
        settled: ApprovalSettled = await workflow.execute_activity(
            APPROVAL_SETTLE_ACTIVITY,
            SettleInput(tenant_id=inp.event.tenant_id, agent_id=inp.target.agent_id,
                        approval_id=pending.approval_id, expired=expired),
            result_type=ApprovalSettled, task_queue=inp.gateway_queue,
            activity_id=f"{step}/approval", start_to_close_timeout=policies.DB_STEP_TIMEOUT,
            retry_policy=policies.GATEWAY)
        if settled.state != "pending":
            break
        decided.discard(pending.approval_id)  # a stray signal: wait on
    workflow.upsert_search_attributes([search.STATUS.value_set("running")])
    if settled.state == "approved":
        result: ToolResult = await workflow.execute_activity(
            GATEWAY_ACTIVITY,
            GatewayCall(tenant_id=inp.event.tenant_id, agent_id=inp.target.agent_id, call=call,
                        idempotency_key=f"{inp.run_id}/{step}", event=inp.event,
                        approval_id=pending.approval_id),
            result_type=ToolResult, task_queue=inp.gateway_queue, activity_id=f"{step}/approved",
            start_to_close_timeout=policies.GATEWAY_TIMEOUT,
            heartbeat_timeout=policies.GATEWAY_HEARTBEAT_TIMEOUT, retry_policy=policies.GATEWAY)
        return result
    if settled.state == "expired":
        text = (f"denied: nobody approved {call.name} within {pending.timeout_seconds} s, so it "
                "was not done")
    else:
        why = f": {settled.reason}" if settled.reason else " (no reason given)"
        text = f"denied: {settled.decided_by or 'a person'} denied {call.name}{why}"
    return ToolResult(call_id=call.id, name=call.name, content=text, is_error=True)
