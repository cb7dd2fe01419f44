"""Session activities: hand an event to its session (update-with-start), record the session's
rows, and leave a closed session's summary in the agent's memory.

A workflow cannot update-with-start another workflow, so EventWorkflow asks this activity to.
The update's id is the event workflow's id and the agent: a retried activity (or a redelivered
event) is the same update, which Temporal applies once per run; SessionWorkflow also remembers
recent keys across continue-as-new. The update answers as soon as the session has queued the
message (accepted or rejected, with the session id and turn), never after the think.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from infra.memory import UnknownAgent, add_episodic
from infra.sessions import store
from workflows import search
from workflows.contracts.sessions import (
    DispatchToSession,
    EpisodeInput,
    SessionInput,
    SessionRecord,
    SubmitResult,
    TurnRecord,
)
from workflows.ids import session_workflow_id

SESSION_WORKFLOW = "SessionWorkflow"


class SessionActivities:
    """The sessions' doors into Temporal's client and the database."""

    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn
    async def submit_to_session(self, inp: DispatchToSession) -> SubmitResult:
        """Start the agent's session on the thread if none runs, and submit the event to it."""
        sub = inp.submit
        tenant, agent = sub.event.tenant_id, sub.target.agent_id
        settings = await store.agent_settings(self.pool, tenant, agent)
        if not settings.enabled:
            return SubmitResult(accepted=False, session_id="", turn=0, direct=True,
                                reason=f"agent {agent} keeps no sessions")
        sub = sub.model_copy(update={"settings": settings})
        workflow_id = session_workflow_id(tenant, agent, inp.thread)
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            SESSION_WORKFLOW, SessionInput(tenant_id=tenant, agent_id=agent, thread=inp.thread),
            id=workflow_id, task_queue=inp.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(search.TENANT, tenant),
                SearchAttributePair(search.AGENT, agent),
                SearchAttributePair(search.THREAD, inp.thread),
                SearchAttributePair(search.STATUS, "waiting"),
            ]),
            static_summary=f"Session of {agent} on {inp.thread}",
        )
        try:
            result: SubmitResult = await self.client.execute_update_with_start_workflow(
                "submit", sub, start_workflow_operation=start, result_type=SubmitResult,
                id=f"{sub.reply_to}/{agent}")
        except WorkflowUpdateFailedError as err:  # the session is closing: retried, the next
            # attempt starts its successor
            raise ApplicationError(f"session {workflow_id} did not take the message: "
                                   f"{err.cause or err}") from None
        return result

    @activity.defn
    async def record_session(self, rec: SessionRecord) -> None:
        """Bring the session's row to the workflow's state."""
        await store.record_session(self.pool, rec)

    @activity.defn
    async def record_turn(self, rec: TurnRecord) -> None:
        """Write one turn's row."""
        await store.record_turn(self.pool, rec.session_id, rec.turn)

    @activity.defn
    async def write_episode(self, inp: EpisodeInput) -> None:
        """Store the closed session's summary as an episodic memory of the agent."""
        try:
            await add_episodic(self.pool, inp.tenant_id, inp.agent_id, inp.text, inp.session_id)
        except UnknownAgent:  # the agent was deleted meanwhile: nothing to remember it for
            activity.logger.info("session %s: agent %s is gone, no episode kept",
                                 inp.session_id, inp.agent_id)
