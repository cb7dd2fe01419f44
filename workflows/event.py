"""EventWorkflow: one inbound delivery, from inbox row to the agents' outcomes."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.context import ContextActivities
    from activities.events import EventActivities
    from workflows import policies, search
    from workflows.agent_run import AgentRunWorkflow
    from workflows.contracts import (
        AgentOutcome,
        AgentRunInput,
        ContextItem,
        DispatchPlan,
        EventInput,
        EventResult,
        EventStatus,
        PrepareInput,
        Provider,
        RecordOutcomeInput,
        StandardEvent,
    )
    from workflows.ids import run_workflow_id

from workflows.gate import hold_while_stopped


@workflow.defn(name="EventWorkflow")
class EventWorkflow:
    """Normalize, resolve the agents, dispatch one AgentRunWorkflow each, record the outcome."""

    @workflow.run
    async def run(self, inp: EventInput) -> EventResult:
        """Process one inbox row."""
        # Every step here is a quick database read or write: local activities run them inside
        # the workflow task (recorded as markers, retried by the worker) instead of a round trip
        # through the server each. Normalizing and planning the dispatch (agents, kill switch,
        # context) is one of them, as it sits on the path to the agents' first think.
        try:
            prepared = await workflow.execute_local_activity_method(
                EventActivities.prepare_event,
                PrepareInput(inbox_id=inp.inbox_id, context_tokens=policies.CONTEXT_TOKENS),
                start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                retry_policy=policies.DB_STEP,
            )
        except ActivityError as err:
            return await self._record(inp, EventStatus.FAILED, reason=f"{err.cause or err}")
        except ApplicationError as err:  # a local activity's own error arrives unwrapped: without
            # this, a delivery the normalizer refuses failed the workflow and stayed "received"
            return await self._record(inp, EventStatus.FAILED, reason=str(err))
        event, plan = prepared.event, prepared.plan
        if plan is None:
            return await self._record(
                inp, EventStatus.IGNORED, event=event, reason=event.ignore_reason
            )
        # Remembering the message (re-embedding its thread) is off the path to the agents.
        remembered = workflow.start_activity_method(
            ContextActivities.remember_event, event,
            start_to_close_timeout=policies.SUMMARY_TIMEOUT, retry_policy=policies.DB_STEP,
        ) if event.provider is Provider.SLACK else None
        try:
            return await self._dispatch(inp, event, plan)
        finally:
            if remembered is not None:
                await remembered

    async def _dispatch(self, inp: EventInput, event: StandardEvent, plan: DispatchPlan
                        ) -> EventResult:
        resolved = plan.resolved
        if not resolved.agents:
            return await self._record(inp, EventStatus.IGNORED, event=event,
                                      reason=resolved.reason, project_id=resolved.project_id)
        if plan.gate.held:
            await hold_while_stopped()
        children = [
            await workflow.start_child_workflow(
                AgentRunWorkflow.run,
                AgentRunInput(run_id=run_id, target=target, event=event,
                              project_id=resolved.project_id,
                              gateway_queue=resolved.gateway_queue,
                              context=within_budget(plan.context.items,
                                                     target.context_token_budget)),
                id=run_id,
                search_attributes=self._run_attributes(event, target.agent_id, resolved.project_id),
            )
            for target in resolved.agents
            for run_id in [run_workflow_id(workflow.info().workflow_id, target.agent_id)]
        ]
        agent_ids = [t.agent_id for t in resolved.agents]
        await self._record(
            inp, EventStatus.DISPATCHED, event=event, reason=resolved.reason, agent_ids=agent_ids,
            project_id=resolved.project_id,
        )
        outcomes = await asyncio.gather(*(self._outcome(h) for h in children))
        return await self._record(
            inp, EventStatus.DISPATCHED, event=event, reason=resolved.reason,
            agent_ids=agent_ids, outcomes=list(outcomes),
        )

    @staticmethod
    def _run_attributes(event: StandardEvent, agent_id: str, project_id: str | None
                        ) -> TypedSearchAttributes:
        pairs = [
            SearchAttributePair(search.TENANT, event.tenant_id),
            SearchAttributePair(search.AGENT, agent_id),
            SearchAttributePair(search.EVENT_KIND, event.kind.value),
            SearchAttributePair(search.STATUS, "running"),
        ]
        if project_id is not None:
            pairs.append(SearchAttributePair(search.PROJECT, project_id))
        return TypedSearchAttributes(pairs)

    @staticmethod
    async def _outcome(handle: workflow.ChildWorkflowHandle[AgentRunWorkflow, AgentOutcome]
                       ) -> AgentOutcome:
        try:
            return await handle
        except ChildWorkflowError as err:
            agent_id = handle.id.rsplit("/", 1)[-1]
            return AgentOutcome(agent_id=agent_id, run_id=handle.id, status="failed",
                                error=str(err.cause or err))

    @staticmethod
    async def _record(
        inp: EventInput,
        status: EventStatus,
        *,
        event: StandardEvent | None = None,
        reason: str | None = None,
        agent_ids: list[str] | None = None,
        outcomes: list[AgentOutcome] | None = None,
        project_id: str | None = None,
    ) -> EventResult:
        if outcomes is None:  # the final record only adds outcomes: attributes are set already
            updates = [search.STATUS.value_set(status.value)]
            if event is not None:
                updates.append(search.EVENT_KIND.value_set(event.kind.value))
            if project_id is not None:
                updates.append(search.PROJECT.value_set(project_id))
            workflow.upsert_search_attributes(updates)
        await workflow.execute_local_activity_method(
            EventActivities.record_outcome,
            RecordOutcomeInput(
                inbox_id=inp.inbox_id, status=status, kind=event.kind if event else None,
                reason=reason, event=event, agent_ids=agent_ids or [], outcomes=outcomes or [],
            ),
            start_to_close_timeout=policies.DB_STEP_TIMEOUT,
            retry_policy=policies.DB_STEP,
        )
        return EventResult(
            status=status, kind=event.kind if event else None, reason=reason,
            outcomes=outcomes or [],
        )


def within_budget(items: list[ContextItem], budget: int) -> list[ContextItem]:
    """The most relevant items that fit an agent's token budget (items are best first)."""
    kept: list[ContextItem] = []
    used = 0
    for item in items:
        if used + item.tokens > budget:
            break
        kept.append(item)
        used += item.tokens
    return kept
