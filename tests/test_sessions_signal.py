"""Sessions fed by signal-with-start (issue #14): a message sent twice (a retried submit) or two
sent together are each applied once, and sessions recorded when events submitted by
update-with-start still replay with the current SessionWorkflow."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from activities.sessions import SessionActivities
from infra.settings import Settings
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_sessions import HeldAgent, sessions_of
from workers.agent import agent_worker
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import Actor, AgentTarget, EventKind, ItemRef, Provider, StandardEvent
from workflows.contracts.sessions import DispatchToSession, SessionSubmit
from workflows.ids import session_workflow_id
from workflows.session import SessionWorkflow

HISTORY_DIR = Path(__file__).parent / "fixtures" / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("session_update_*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_sessions_fed_by_update_still_replay(path: Path, temporal_client: Client) -> None:
    """Recorded with 3c614b4's SessionWorkflow (update "submit"): two turns under enqueue, an
    interrupted think, a refusal under reject, an idle close with its episode."""
    await replay(path, temporal_client)


async def test_sessions_of_version_1_still_replay(temporal_client: Client) -> None:
    """Recorded with df7b488's SessionWorkflow (SESSION_VERSION 1, a row write per step): a
    turn, two messages queued during it and answered in a second turn (one told on its event's
    row, one by signal), then a close with its episode. Version 2 writes a turn's rows in one
    local activity; a running version-1 session must still replay its own five."""
    await replay(HISTORY_DIR / "session_signal_v1.json", temporal_client)


async def replay(path: Path, client: Client) -> None:
    """Replay a recorded SessionWorkflow history (its id rebuilt from its input)."""
    recorded = WorkflowHistory.from_json("", await asyncio.to_thread(path.read_text))
    started = recorded.events[0].workflow_execution_started_event_attributes
    inp = json.loads(started.input.payloads[0].data)
    history = WorkflowHistory(session_workflow_id(inp["tenant_id"], inp["agent_id"],
                                                  inp["thread"]), recorded.events)
    replayer = Replayer(workflows=[SessionWorkflow], data_converter=client.data_converter)
    await replayer.replay_workflow(history)


async def test_a_message_sent_twice_and_two_sent_together_are_each_applied_once(
    make_tenant: TenantFactory, temporal_client: Client, pool: asyncpg.Pool, settings: Settings,
) -> None:
    agent = f"dup-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    await pool.execute("UPDATE agents SET session_debounce_ms = 0 WHERE tenant_id = $1", tenant)
    brain = HeldAgent(agent)
    brain.hold.clear()  # the first think holds, so what arrives meanwhile queues
    thread = f"slack:C7:{uuid.uuid4().hex[:8]}"
    sessions = SessionActivities(pool, temporal_client)

    def dispatch(n: int) -> DispatchToSession:
        event = StandardEvent(tenant_id=tenant, provider=Provider.SLACK, source_event="message",
                              kind=EventKind.COMMENT, text=f"message {n}", actor=Actor(id="U1"),
                              ref=ItemRef(container="C7", item="1"))
        return DispatchToSession(thread=thread, task_queue=settings.temporal.task_queue,
                                 submit=SessionSubmit(reply_to=f"test/{thread}/{n}", event=event,
                                                      event_id=n, target=AgentTarget(
                                                          agent_id=agent)))

    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        # two messages at once on a thread with no session yet (both race to start it), each
        # also sent again as a retried activity would
        results = await asyncio.gather(*(sessions.submit_to_session(dispatch(n))
                                         for n in (1, 2, 1, 2)))
        assert all(r.accepted for r in results)
        await brain.wait_for(1)
        await sessions.submit_to_session(dispatch(3))
        await sessions.submit_to_session(dispatch(1))  # a late resend of one already answered
        brain.hold.set()
        # every signal is in the session's history before this; waiting again with all turns
        # done means nothing was queued twice (a duplicate would have made another turn)
        async with asyncio.timeout(30):
            while not (rows := await sessions_of(pool, tenant)) or rows[0]["status"] != "waiting" \
                    or sum(len(t["messages"]) for t in rows[0]["turn_rows"]) < 3 \
                    or any(t["status"] != "done" for t in rows[0]["turn_rows"]):
                await asyncio.sleep(0.05)
    [session] = await sessions_of(pool, tenant)
    said = [m["event_id"] for t in session["turn_rows"] for m in t["messages"]]
    assert sorted(said) == [1, 2, 3]
    assert session["turns"] == len(brain.seen) == len(session["turn_rows"])
    assert (brain.seen[-1].event.text or "").endswith("message 3")
    replayer = Replayer(workflows=[SessionWorkflow, AgentRunWorkflow],
                        data_converter=temporal_client.data_converter)
    history = await temporal_client.get_workflow_handle(session["workflow_id"]).fetch_history()
    await replayer.replay_workflow(history)
