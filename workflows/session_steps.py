"""SessionWorkflow's side steps: its rows, telling an event workflow, the busy reply.

Each is one command (a local activity, a signal, an activity on the gateway queue) that the
session's run and its handlers share; kept here so workflows/session.py holds the conversation.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.sessions import SessionActivities
    from workflows import policies
    from workflows.contracts import AgentOutcome, GatewayCall, ToolCall, ToolResult
    from workflows.contracts.conversation import ConversationTurn
    from workflows.contracts.sessions import (
        EpisodeInput,
        OutcomeRecord,
        SessionInput,
        SessionRecord,
        SessionStep,
        SessionSubmit,
        TurnFinished,
        TurnRecord,
    )
    from workflows.names import GATEWAY_ACTIVITY

TURN_FINISHED = "turn_finished"  # EventWorkflow's signal
# A busy reply is a courtesy: held longer than this (kill switch, gateway down) it is dropped
# rather than keep the session's handler (and its continue-as-new) waiting.
BUSY_REPLY_TIMEOUT = timedelta(minutes=2)


async def record_session(rec: SessionRecord) -> None:
    """Bring the session's row to ``rec`` (a local activity: a quick upsert)."""
    await workflow.execute_local_activity_method(
        SessionActivities.record_session, rec,
        start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)


async def record_turn(session_id: str, turn: ConversationTurn) -> None:
    """Write one turn's row (a local activity: a quick upsert)."""
    await workflow.execute_local_activity_method(
        SessionActivities.record_turn, TurnRecord(session_id=session_id, turn=turn),
        start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)


async def record_step(step: SessionStep) -> None:
    """Write the session's row, a turn's and its events' outcomes in one transaction (a local
    activity; sessions of SESSION_VERSION 2)."""
    await workflow.execute_local_activity_method(
        SessionActivities.record_session_step, step,
        start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)


def outcome_row(sub: SessionSubmit, told: TurnFinished) -> OutcomeRecord | None:
    """Where a message's event takes its agent's outcome: its row, when its EventWorkflow did
    not wait for it (None: by signal to that workflow). Which one is in the submit, so a
    history replays the same way."""
    if sub.outcome_to_row and sub.event_id is not None:
        return OutcomeRecord(event_id=sub.event_id, outcome=told.outcome)
    return None


async def tell(sub: SessionSubmit, told: TurnFinished) -> None:
    """Give a message's event its agent's outcome: on the event's row (a local activity), or
    by signal to its EventWorkflow (nothing if it is gone); see ``outcome_row``."""
    row = outcome_row(sub, told)
    if row is not None:
        await workflow.execute_local_activity_method(
            SessionActivities.record_event_outcome, row,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        return
    try:
        await workflow.get_external_workflow_handle(sub.reply_to).signal(TURN_FINISHED, told)
    except Exception:  # a finished or unknown event workflow: no one to tell
        workflow.logger.info("no event workflow %s to tell", sub.reply_to)


async def write_episode(inp: SessionInput, session_id: str, text: str) -> None:
    """Leave an episodic summary of the session in the agent's memory."""
    await workflow.execute_activity_method(
        SessionActivities.write_episode,
        EpisodeInput(tenant_id=inp.tenant_id, agent_id=inp.agent_id, session_id=session_id,
                     text=text),
        start_to_close_timeout=policies.SUMMARY_TIMEOUT, retry_policy=policies.DB_STEP)


BUSY = ("I am still working on an earlier message in this thread, so I did not take this one."
        " Please send it again once I have answered.")


async def refuse(sub: SessionSubmit, session_id: str, reason: str) -> None:
    """Refuse a message under reject: its event is told at once, its sender in the thread."""
    refused = AgentOutcome(agent_id=sub.target.agent_id, run_id=session_id, status="rejected",
                           error=reason)
    await tell(sub, TurnFinished(outcome=refused, session_id=session_id, turn=0))
    await busy_reply(sub, BUSY)


async def busy_reply(sub: SessionSubmit, text: str) -> bool:
    """Answer a refused message in its own thread, as the agent, through the gateway (the
    intent ``reply`` the agent's replies use, under its grants and breaker). False when it could
    not: no gateway queue, or the gateway refused (no grant, no credential)."""
    if sub.gateway_queue is None:
        return False
    call = ToolCall(id="busy", name="reply", arguments={"text": text}, target="gateway")
    try:
        result: ToolResult = await workflow.execute_activity(
            GATEWAY_ACTIVITY,
            GatewayCall(tenant_id=sub.event.tenant_id, agent_id=sub.target.agent_id, call=call,
                        idempotency_key=f"{sub.reply_to}/{sub.target.agent_id}/busy",
                        event=sub.event),
            result_type=ToolResult, task_queue=sub.gateway_queue,
            schedule_to_close_timeout=BUSY_REPLY_TIMEOUT,
            heartbeat_timeout=policies.GATEWAY_HEARTBEAT_TIMEOUT,
            retry_policy=policies.GATEWAY)
    except ActivityError:  # an activity failure: the sender still hears it by the event's outcome
        workflow.logger.info("busy reply to %s not posted", sub.reply_to)
        return False
    return not result.is_error
