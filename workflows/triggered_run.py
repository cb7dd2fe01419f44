"""TriggeredRunWorkflow: an agent's run on a goal, started by a person or a Temporal Schedule.

It plans the run as an event's dispatch is planned (the agent with its grants and memory, the
kill switch, the context for the goal), waits while the kill switch is on, then runs the
agent's loop as a child AgentRunWorkflow: the same run, listed and visible like any other.

Ids: this workflow is ``trigger/<tenant>/<trigger>/<key>`` (a schedule's fired workflow gets
Temporal's ``-<scheduled time>`` suffix on its key), its run
``run/<tenant>/<trigger>/<key>/<agent>``.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities
    from workflows import policies, search
    from workflows.agent_run import AgentRunWorkflow
    from workflows.contracts import RUN_VERSION, AgentOutcome, AgentRunInput, PlanInput
    from workflows.contracts.runs import TriggeredRunInput
    from workflows.event import within_budget

from workflows.gate import hold_while_stopped

TRIGGER_PREFIX = "trigger/"


def trigger_workflow_id(tenant_id: str, trigger: str, key: str) -> str:
    """The TriggeredRunWorkflow id: ``trigger/<tenant>/<trigger>/<key>``."""
    return f"{TRIGGER_PREFIX}{tenant_id}/{trigger}/{key}"


def triggered_run_id(trigger_id: str, agent_id: str) -> str:
    """The AgentRunWorkflow id a TriggeredRunWorkflow starts: ``run/<same path>/<agent>``."""
    return f"run/{trigger_id.removeprefix(TRIGGER_PREFIX)}/{agent_id}"


def trigger_id_of_run(run_id: str) -> str | None:
    """The TriggeredRunWorkflow that starts ``run_id`` (None: a run of another trigger)."""
    path, _, _agent = run_id.removeprefix("run/").rpartition("/")
    parts = path.split("/")
    if len(parts) < 3 or len(parts) != {"manual": 3, "schedule": 4}.get(parts[1]):
        return None
    return TRIGGER_PREFIX + path


@workflow.defn(name="TriggeredRunWorkflow")
class TriggeredRunWorkflow:
    """Plan, pass the kill switch, run the agent's loop as a child; return its outcome."""

    @workflow.run
    async def run(self, inp: TriggeredRunInput) -> AgentOutcome:
        """Run one agent on one goal."""
        run_id = triggered_run_id(workflow.info().workflow_id, inp.agent_id)
        event = inp.event.model_copy(update={"occurred_at": workflow.now()})
        try:
            plan = await workflow.execute_local_activity_method(
                EventActivities.plan_event,
                PlanInput(event=event, context_tokens=policies.CONTEXT_TOKENS),
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        except (ActivityError, ApplicationError) as err:
            return failed(inp, run_id, f"not planned: {getattr(err, 'cause', None) or err}")
        resolved = plan.resolved
        target = next((a for a in resolved.agents if a.agent_id == inp.agent_id), None)
        if target is None:  # deleted, paused or offline since the run was asked for
            return failed(inp, run_id, f"agent {inp.agent_id} cannot run now: {resolved.reason}")
        if plan.gate.held:
            await hold_while_stopped()
        try:
            return await workflow.execute_child_workflow(
                AgentRunWorkflow.run,
                AgentRunInput(run_id=run_id, target=target, event=event,
                              project_id=resolved.project_id,
                              gateway_queue=resolved.gateway_queue,
                              context=within_budget(plan.context.items,
                                                    target.context_token_budget),
                              version=RUN_VERSION),
                id=run_id,
                search_attributes=search.run_attributes(
                    event.tenant_id, inp.agent_id, event.kind.value, resolved.project_id,
                    trigger=inp.trigger),
                static_summary=f"{inp.trigger} run of {inp.agent_id}")
        except ChildWorkflowError as err:
            return failed(inp, run_id, str(err.cause or err))


def failed(inp: TriggeredRunInput, run_id: str, error: str) -> AgentOutcome:
    """The outcome of a run that could not start or whose workflow failed."""
    return AgentOutcome(agent_id=inp.agent_id, run_id=run_id, status="failed", error=error)
