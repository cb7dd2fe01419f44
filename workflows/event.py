"""EventWorkflow: one inbound delivery, from inbox row to the agents' outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from temporalio import workflow
from temporalio.common import Priority, TypedSearchAttributes
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from activities.context import ContextActivities
    from activities.enrich import EnrichActivities
    from activities.events import EventActivities
    from activities.mirror import MirrorActivities
    from activities.sessions import SessionActivities
    from workflows import policies, search
    from workflows.agent_run import AgentRunWorkflow
    from workflows.contracts import (
        EVENT_VERSION,
        RUN_VERSION,
        AgentOutcome,
        AgentRunInput,
        AgentTarget,
        ContextItem,
        DispatchPlan,
        EnrichedEvent,
        EventInput,
        EventKind,
        EventResult,
        EventStatus,
        PlanInput,
        PrepareInput,
        Provider,
        RecordOutcomeInput,
        StandardEvent,
    )
    from workflows.contracts.agents import require_known
    from workflows.contracts.mirror import MirrorInput
    from workflows.contracts.sessions import (
        DispatchToSession,
        SessionSubmit,
        SubmitResult,
        TurnFinished,
    )
    from workflows.ids import run_workflow_id, thread_key
    from workflows.mirror import MirrorWorkflow, mirror_workflow_id

from workflows.approval_click import APPROVAL_CLICKS_PATCH, approval_click
from workflows.gate import hold_while_stopped

ENRICH_PATCH = "enrich-before-dispatch"
SESSIONS_PATCH = "sessions"
SUBMIT_LOCAL_PATCH = "session-submit-local"  # the submit to a session as a local activity
MIRROR_PATCH = "mirror"
# Every change above at once, and: the run ends once its sessions took the event (they write the
# outcomes to its row), and a message is remembered by a local activity. A patch costs each new
# history a marker and an upsert of TemporalChangeVersion (a visibility write): runs started with
# ``EventInput.version`` 1 (the relay's, EVENT_VERSION) take all this without one; this marker
# stands for it in histories begun between the two (issue #17); older ones replay their own.
CURRENT_PATCH = "event-2026-12"


@workflow.defn(name="EventWorkflow")
class EventWorkflow:
    """Normalize, resolve the agents, dispatch one AgentRunWorkflow each, record the outcome."""

    def __init__(self) -> None:
        """No turn finished yet (the sessions of events begun before CURRENT_PATCH tell them by
        signal; newer ones write them to the event's row)."""
        self._finished: dict[str, AgentOutcome] = {}
        self._current = False

    def _patched(self, patch: str) -> bool:
        """Whether this history takes the change ``patch``: every new one does (one marker,
        CURRENT_PATCH); one begun before it, if its own marker says so."""
        return self._current or workflow.patched(patch)

    @workflow.signal(name="turn_finished")
    def turn_finished(self, told: TurnFinished) -> None:
        """A session's turn answered this event for one agent."""
        self._finished[told.outcome.agent_id] = told.outcome

    @workflow.run
    async def run(self, inp: EventInput) -> EventResult:
        """Process one inbox row."""
        require_known(inp.version, EVENT_VERSION, "EventWorkflow")
        # Histories begun before enrichment replay the old commands: no enrich, plan or early
        # remember (README, "Enrichment").
        self._current = inp.version >= 1 or workflow.patched(CURRENT_PATCH)
        enriching = self._patched(ENRICH_PATCH)
        # Every step here is a quick database read or write: local activities run them inside
        # the workflow task (recorded as markers, retried by the worker) instead of a round trip
        # through the server each. Normalizing and planning the dispatch (agents, kill switch,
        # context) is one of them, as it sits on the path to the agents' first think.
        try:
            prepared = await workflow.execute_local_activity_method(
                EventActivities.prepare_event,
                PrepareInput(inbox_id=inp.inbox_id, context_tokens=policies.CONTEXT_TOKENS,
                             enrich=enriching),
                start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                retry_policy=policies.DB_STEP,
            )
        except ActivityError as err:
            return await self._record(inp, EventStatus.FAILED, reason=f"{err.cause or err}")
        except ApplicationError as err:  # a local activity's own error arrives unwrapped: without
            # this, a delivery the normalizer refuses failed the workflow and stayed "received"
            return await self._record(inp, EventStatus.FAILED, reason=str(err))
        event, plan = prepared.event, prepared.plan
        if not enriching:
            if plan is None:
                return await self._record(
                    inp, EventStatus.IGNORED, event=event, reason=event.ignore_reason
                )
            remembered = self._remember(event) if event.provider is Provider.SLACK else None
        else:
            # Edits and deletions (ignored kinds) are remembered too: they replace or remove
            # what was stored.
            remembered = self._remember(event) if remembers(event) else None
        try:
            if prepared.enrich_on is not None:
                event, plan = await self._enrich(event, prepared.enrich_on)
            if plan is None:
                return await self._record(
                    inp, EventStatus.IGNORED, event=event, reason=event.ignore_reason
                )
            if event.kind is EventKind.INTERACTION and self._patched(APPROVAL_CLICKS_PATCH):
                await approval_click(event)
            # The mirror starts beside the dispatch: the agents never wait for it.
            mirroring = (asyncio.create_task(self._mirror(event))
                         if mirrorable(event, plan) and self._patched(MIRROR_PATCH) else None)
            try:
                return await self._dispatch(inp, event, plan)
            finally:
                if mirroring is not None:
                    await mirroring
        finally:
            if remembered is not None:
                await remembered

    def _remember(self, event: StandardEvent) -> workflow.ActivityHandle[None]:
        # Remembering the message (re-embedding its thread) is off the path to the agents: it
        # runs beside the dispatch. A message's is a local activity (a database write and an
        # embedding, in this worker: no activity task, and no workflow task after it, so a new
        # event ends in its first workflow task); a README fetch, which calls GitHub, stays an
        # activity, as every remember of events begun before CURRENT_PATCH.
        if self._current and event.facts.get("memory") != "readme":
            return workflow.start_local_activity_method(
                ContextActivities.remember_event, event,
                start_to_close_timeout=policies.SUMMARY_TIMEOUT, retry_policy=policies.DB_STEP)
        return workflow.start_activity_method(
            ContextActivities.remember_event, event,
            start_to_close_timeout=policies.SUMMARY_TIMEOUT, retry_policy=policies.DB_STEP,
        )

    @staticmethod
    async def _mirror(event: StandardEvent) -> None:
        """Start the event's mirror when its list or channel mirrors the other (README,
        "Mirror"): an abandoned child, so the agents' dispatch never waits for it."""
        lookup = await workflow.execute_local_activity_method(
            MirrorActivities.find_mirror, event,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        if lookup.pair is None:
            return
        try:
            await workflow.start_child_workflow(
                MirrorWorkflow.run, MirrorInput(event=event, pair=lookup.pair),
                id=mirror_workflow_id(workflow.info().workflow_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON)
        except WorkflowAlreadyStartedError:
            return  # a reset of this event: its mirror runs already

    @staticmethod
    async def _enrich(event: StandardEvent, queue: str) -> tuple[StandardEvent, DispatchPlan]:
        """The event with what it is about (or bare, with a note), then its dispatch plan."""
        first = None
        try:
            enriched: EnrichedEvent = await workflow.execute_activity_method(
                EnrichActivities.enrich_event, event, task_queue=queue,
                schedule_to_close_timeout=policies.ENRICH_TIMEOUT,
                start_to_close_timeout=policies.ENRICH_ATTEMPT_TIMEOUT,
                retry_policy=policies.ENRICH,
            )
            event, first = enriched.event, enriched.context
        except ActivityError as err:
            note = f"not fetched: {last_cause(err)}"
            event = event.model_copy(update={"facts": {**event.facts, "enrichment": note}})
        plan = await workflow.execute_local_activity_method(
            EventActivities.plan_event,
            PlanInput(event=event, context_tokens=policies.CONTEXT_TOKENS, first=first),
            start_to_close_timeout=policies.DB_STEP_TIMEOUT,
            retry_policy=policies.DB_STEP,
        )
        return event, plan

    async def _dispatch(self, inp: EventInput, event: StandardEvent, plan: DispatchPlan
                        ) -> EventResult:
        resolved = plan.resolved
        if not resolved.agents:
            return await self._record(inp, EventStatus.IGNORED, event=event,
                                      reason=resolved.reason, project_id=resolved.project_id)
        if plan.gate.held:
            await hold_while_stopped()
        thread = thread_of(event)
        if thread is not None and self._patched(SESSIONS_PATCH):
            return await self._to_sessions(inp, event, plan, thread)
        children = [await self._start_run(event, plan, target) for target in resolved.agents]
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

    async def _to_sessions(self, inp: EventInput, event: StandardEvent, plan: DispatchPlan,
                           thread: str) -> EventResult:
        """Each agent's session on the thread takes the event (README, "Sessions"); its turn's
        outcome comes back by signal."""
        resolved = plan.resolved
        # A local activity: the submit is a signal-with-start, done once the server stored the
        # signal (it no longer waits for the session's workflow task to take an update, which
        # held this task and a local-activity slot the session's own first task needed: 300
        # events in flight stalled every session that way). Local, it runs inside this workflow
        # task, saving a round trip through the server per event on the way to the think.
        # Histories begun before ran the regular activity, kept so they replay.
        execute = (workflow.execute_local_activity_method if self._patched(SUBMIT_LOCAL_PATCH)
                   else workflow.execute_activity_method)
        results: list[SubmitResult] = await asyncio.gather(*(
            execute(
                SessionActivities.submit_to_session,
                DispatchToSession(thread=thread, task_queue=workflow.info().task_queue,
                                  submit=SessionSubmit(
                    reply_to=workflow.info().workflow_id, event=event, event_id=inp.inbox_id,
                    target=target, project_id=resolved.project_id,
                    gateway_queue=resolved.gateway_queue, outcome_to_row=self._current,
                    context=within_budget(plan.context.items, target.context_token_budget))),
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
            for target in resolved.agents))
        agent_ids = [t.agent_id for t in resolved.agents]
        await self._record(
            inp, EventStatus.DISPATCHED, event=event, reason=resolved.reason, agent_ids=agent_ids,
            project_id=resolved.project_id)
        direct = []
        for target, result in zip(resolved.agents, results, strict=True):
            if result.direct:  # an agent without sessions: a fresh run, as without a thread
                direct.append(await self._start_run(event, plan, target))
            elif not result.accepted:
                self._finished[target.agent_id] = AgentOutcome(
                    agent_id=target.agent_id, run_id=result.session_id, status="rejected",
                    error=result.reason)
        for outcome in await asyncio.gather(*(self._outcome(h) for h in direct)):
            self._finished[outcome.agent_id] = outcome
        if self._current:
            # The sessions put their turns' outcomes on the row themselves: this workflow ends
            # here instead of waiting for them (a signal, a workflow task and a row write fewer
            # per event; the turn is in its session's and its run's histories).
            known = [self._finished[a] for a in agent_ids if a in self._finished]
            if not known:
                return EventResult(status=EventStatus.DISPATCHED, kind=event.kind,
                                   reason=resolved.reason)
            return await self._record(
                inp, EventStatus.DISPATCHED, event=event, reason=resolved.reason,
                agent_ids=agent_ids, outcomes=known)
        await workflow.wait_condition(lambda: all(a in self._finished for a in agent_ids))
        return await self._record(
            inp, EventStatus.DISPATCHED, event=event, reason=resolved.reason,
            agent_ids=agent_ids, outcomes=[self._finished[a] for a in agent_ids])

    def _start_run(self, event: StandardEvent, plan: DispatchPlan, target: AgentTarget
                   ) -> Awaitable[workflow.ChildWorkflowHandle[AgentRunWorkflow, AgentOutcome]]:
        """Start one agent's run on the event (the path without a session)."""
        resolved = plan.resolved
        run_id = run_workflow_id(workflow.info().workflow_id, target.agent_id)
        return workflow.start_child_workflow(
            AgentRunWorkflow.run,
            AgentRunInput(run_id=run_id, target=target, event=event,
                          project_id=resolved.project_id, gateway_queue=resolved.gateway_queue,
                          context=within_budget(plan.context.items, target.context_token_budget),
                          version=RUN_VERSION if self._current else 0),
            id=run_id,
            search_attributes=self._run_attributes(event, target.agent_id, resolved.project_id),
            priority=policies.RUN_PRIORITY if self._current else Priority.default)

    @staticmethod
    def _run_attributes(event: StandardEvent, agent_id: str, project_id: str | None
                        ) -> TypedSearchAttributes:
        return search.run_attributes(event.tenant_id, agent_id, event.kind.value, project_id)

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


def remembers(event: StandardEvent) -> bool:
    """Whether the context engine stores something of ``event``: what the normalizer marked
    (``facts["memory"]``: add, edit, delete, readme) and, as before, Slack messages."""
    return "memory" in event.facts or (
        event.provider is Provider.SLACK and event.kind is not EventKind.IGNORE)


def mirrorable(event: StandardEvent, plan: DispatchPlan) -> bool:
    """Whether the event may belong to a mirrored pair: of a project, and a ClickUp task's
    creation, comment or status, or a Slack thread reply."""
    if plan.resolved.project_id is None:
        return False
    if event.provider is Provider.CLICKUP:
        return event.kind in (EventKind.NEW_WORK_ITEM, EventKind.COMMENT, EventKind.STATUS_CHANGE)
    return event.provider is Provider.SLACK and event.kind is EventKind.COMMENT


def thread_of(event: StandardEvent) -> str | None:
    """The thread a session of this event is keyed on (None: the event has no thread)."""
    ref = event.ref
    if ref is None or not ref.container or not ref.item:
        return None
    return thread_key(event.provider.value, ref.container, ref.item)


def last_cause(err: BaseException) -> str:
    """The innermost message of an activity failure (the last try's error, not "timed out")."""
    messages = []
    cause: BaseException | None = err
    while cause is not None:
        messages.append(getattr(cause, "message", None) or str(cause))
        cause = cause.__cause__
    return next((m for m in reversed(messages) if m), "failed")


def within_budget(items: list[ContextItem], budget: int) -> list[ContextItem]:
    """The most relevant items that fit an agent's token budget (items are best first; one
    too big for what is left is passed over, so a long first item cannot empty the context)."""
    kept: list[ContextItem] = []
    used = 0
    for item in items:
        if used + item.tokens > budget:
            continue
        kept.append(item)
        used += item.tokens
    return kept
