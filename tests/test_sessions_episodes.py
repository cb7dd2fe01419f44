"""A long session leaves an episodic summary in the agent's memory every N turns (issue #14
part 4), not only when it closes; the close then covers the turns after the last one."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from temporalio.client import Client

from activities.sessions import SessionActivities
from infra.settings import Settings
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_sessions import HeldAgent, make_agent
from workers.agent import agent_worker
from workflows.contracts import Actor, AgentTarget, EventKind, ItemRef, Provider, StandardEvent
from workflows.contracts.sessions import DispatchToSession, SessionSubmit
from workflows.ids import session_workflow_id


async def test_a_long_session_leaves_an_episode_every_n_turns(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, settings: Settings, pool: asyncpg.Pool,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant, session_debounce_ms=0,
                                     session_summary_every=2)
    r = await http.get(f"/admin/tenants/{tenant}/agents", headers=admin)
    assert [a["session_summary_every"] for a in r.json()] == [2]
    brain = HeldAgent(agent)
    thread = f"slack:C5:{uuid.uuid4().hex[:8]}"
    sessions = SessionActivities(pool, temporal_client)
    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        for n in range(1, 6):
            event = StandardEvent(tenant_id=tenant, provider=Provider.SLACK,
                                  source_event="message", kind=EventKind.COMMENT,
                                  text=f"step {n} of the migration", actor=Actor(id="U1"),
                                  ref=ItemRef(container="C5", item="1"))
            await sessions.submit_to_session(DispatchToSession(
                thread=thread, task_queue=settings.temporal.task_queue,
                submit=SessionSubmit(reply_to=f"test/{thread}/{n}", event=event, event_id=n,
                                     target=AgentTarget(agent_id=agent))))
            await brain.wait_for(n)
        handle = temporal_client.get_workflow_handle(session_workflow_id(tenant, agent, thread))
        await handle.signal("close")
        await handle.result()
    r = await http.get(f"/admin/tenants/{tenant}/agents/{agent}/memory",
                       params={"type": "episodic"}, headers=admin)
    assert r.status_code == 200, r.text
    texts = sorted(m["value"] for m in r.json())
    assert [t.splitlines()[0] for t in texts] == [
        f"Session on {thread}, turns {a}-{b}:" for a, b in ((1, 2), (3, 4), (5, 5))]
    assert "step 1 of the migration" in texts[0] and "step 2 of the migration" in texts[0]
    assert "step 3" not in texts[0] and "step 5 of the migration" in texts[2]
