"""Session activities: hand an event to its session (signal-with-start), record the session's
rows, and leave a closed session's summary in the agent's memory.

A workflow cannot signal-with-start another workflow, so EventWorkflow asks this activity to.
It is a signal, not an update: an update waits for the session's worker to run a workflow task
and take it, which under a burst (300 new events in flight on the dev server) took 14-19 s per
call and held the pipeline to 3.8 events/s; a signal is durable in the session's history once
the call returns. What became of the message (the turn's outcome, or a refusal under
``reject``) the session writes to the event's row (``record_event_outcome``); an event begun
before that waits for it by signal "turn_finished". A retried activity sends the same message
again: SessionWorkflow applies a message once per key (event workflow id and agent), keys it
carries across continue-as-new.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from infra.inbox.store import record_agent_outcome
from infra.memory import UnknownAgent, add_episodic
from infra.sessions import store
from workflows import policies, search
from workflows.contracts.agents import SESSION_VERSION
from workflows.contracts.sessions import (
    DispatchToSession,
    EpisodeInput,
    OutcomeRecord,
    SessionInput,
    SessionRecord,
    SessionStep,
    SubmitResult,
    TurnRecord,
)
from workflows.ids import session_workflow_id

SESSION_WORKFLOW = "SessionWorkflow"
MESSAGE_SIGNAL = "message"


class SessionActivities:
    """The sessions' doors into Temporal's client and the database."""

    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn
    async def submit_to_session(self, inp: DispatchToSession) -> SubmitResult:
        """Start the agent's session on the thread if none runs, and send it the event."""
        sub = inp.submit
        tenant, agent = sub.event.tenant_id, sub.target.agent_id
        settings = await store.agent_settings(self.pool, tenant, agent)
        if not settings.enabled:
            return SubmitResult(accepted=False, session_id="", turn=0, direct=True,
                                reason=f"agent {agent} keeps no sessions")
        sub = sub.model_copy(update={"settings": settings})
        workflow_id = session_workflow_id(tenant, agent, inp.thread)
        await self.client.start_workflow(
            SESSION_WORKFLOW, SessionInput(tenant_id=tenant, agent_id=agent, thread=inp.thread,
                                           version=SESSION_VERSION),
            id=workflow_id, task_queue=inp.task_queue, start_signal=MESSAGE_SIGNAL,
            start_signal_args=[sub], id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            priority=policies.SESSION_PRIORITY,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(search.TENANT, tenant),
                SearchAttributePair(search.AGENT, agent),
                SearchAttributePair(search.THREAD, inp.thread),
                SearchAttributePair(search.STATUS, "waiting"),
            ]),
            static_summary=f"Session of {agent} on {inp.thread}",
        )
        # Sent, not yet taken: the outcome (or a refusal) comes by signal "turn_finished".
        return SubmitResult(accepted=True, session_id="", turn=0,
                            reason=f"sent to {workflow_id}")

    @activity.defn
    async def record_session(self, rec: SessionRecord) -> None:
        """Bring the session's row to the workflow's state."""
        await store.record_session(self.pool, rec)

    @activity.defn
    async def record_turn(self, rec: TurnRecord) -> None:
        """Write one turn's row."""
        await store.record_turn(self.pool, rec.session_id, rec.turn)

    @activity.defn
    async def record_event_outcome(self, rec: OutcomeRecord) -> None:
        """Put a turn's outcome on its event's row (the agent's entry; idempotent)."""
        await record_agent_outcome(self.pool, rec.event_id, rec.outcome.model_dump(mode="json"))

    @activity.defn
    async def record_session_step(self, step: SessionStep) -> None:
        """Bring the session's row to the workflow's state and, in the same transaction, write
        a turn's row and put its outcome on its events' rows."""
        async with self.pool.acquire() as conn, conn.transaction():
            await store.record_session(conn, step.session)
            if step.turn is not None:
                await store.record_turn(conn, step.session.session_id, step.turn)
            for rec in step.outcomes:
                await record_agent_outcome(conn, rec.event_id, rec.outcome.model_dump(mode="json"))

    @activity.defn
    async def write_episode(self, inp: EpisodeInput) -> None:
        """Store the closed session's summary as an episodic memory of the agent."""
        try:
            await add_episodic(self.pool, inp.tenant_id, inp.agent_id, inp.text, inp.session_id)
        except UnknownAgent:  # the agent was deleted meanwhile: nothing to remember it for
            activity.logger.info("session %s: agent %s is gone, no episode kept",
                                 inp.session_id, inp.agent_id)
