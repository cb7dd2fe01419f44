"""End to end: a signed corpus webhook over HTTP reaches an agent worker as a normalized event."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Replayer

from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from workers.agent import agent_worker
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import EventResult, EventStatus
from workflows.event import EventWorkflow


async def wait_status(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                      inbox_id: int, statuses: set[str], outcomes: int = 0,
                      within: float = 20) -> dict[str, Any]:
    """Poll the admin API until the event reaches one of ``statuses`` (and has its outcomes)."""
    async with asyncio.timeout(within):
        while True:
            r = await http.get(f"/admin/tenants/{tenant}/events/{inbox_id}", headers=admin)
            event: dict[str, Any] = r.json()
            if event["status"] in statuses and len(event["outcomes"]) >= outcomes:
                return event
            await asyncio.sleep(0.05)


ROUTABLE = [e for e in corpus.entries() if "ignore" not in e["expect"]["acceptable_kinds"]]
IGNORED = [e for e in corpus.entries()
           if e["expect"]["acceptable_kinds"] == ["ignore"] and "response" not in e["expect"]]


@pytest.mark.parametrize("e", ROUTABLE, ids=lambda e: e["id"])
async def test_corpus_webhook_reaches_the_agent_normalized(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, e: dict[str, Any],
) -> None:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent_id,), default_agents=(agent_id,))
    agent = RecordingAgent(agent_id)
    async with running(agent_worker(temporal_client, tenant, agent_id, agent.think)):
        raw, headers = corpus.live_request(e)
        r = await http.post(f"/webhooks/{e['provider']}/{tenant}", content=raw, headers=headers)
        assert r.status_code == 202, r.text
        [think] = await agent.wait_for(1)
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    assert think.event.tenant_id == tenant
    assert think.event.kind.value in e["expect"]["acceptable_kinds"]
    assert think.run_id == f"run/{r.json()['workflow_id'].removeprefix('event/')}/{agent_id}"
    assert event["agent_ids"] == [agent_id]
    assert "demo agent" in event["outcomes"][0]["final"]
    result = await temporal_client.get_workflow_handle(
        r.json()["workflow_id"], result_type=EventResult).result()
    assert result.status is EventStatus.DISPATCHED


@pytest.mark.parametrize("e", IGNORED, ids=lambda e: e["id"])
async def test_events_nobody_should_act_on_are_recorded_as_ignored(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    e: dict[str, Any],
) -> None:
    tenant = await make_tenant(agents=("x-" + uuid.uuid4().hex[:8],))
    raw, headers = corpus.live_request(e)
    r = await http.post(f"/webhooks/{e['provider']}/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202
    event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"ignored", "failed"})
    assert event["status"] == "ignored"
    assert event["kind"] == "ignore" and event["reason"]


async def test_alias_mention_reaches_its_members_only_and_skips_paused_agents(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    ids = [f"sq-{uuid.uuid4().hex[:6]}" for _ in range(4)]
    member, nested, paused, outsider = ids
    tenant = await make_tenant(agents=tuple(ids), default_agents=(outsider,))
    base = f"/admin/tenants/{tenant}"
    await http.put(f"{base}/aliases/Backend", headers=admin, json={"members": [nested]})
    await http.put(f"{base}/aliases/AI_Squad", headers=admin,
                   json={"members": [member, "@Backend", paused]})
    await http.patch(f"{base}/agents/{paused}", headers=admin, json={"status": "paused"})
    agents = {i: RecordingAgent(i) for i in ids}
    workers = [running(agent_worker(temporal_client, tenant, i, a.think))
               for i, a in agents.items()]
    raw = json.dumps({
        "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:8]}", "team_id": "T1",
        "event": {"type": "message", "user": "U1", "text": "@AI_Squad please fix the login page",
                  "ts": "1700000000.000100", "channel": "C1", "channel_type": "channel"},
    }).encode()
    headers = {"Content-Type": "application/json", **corpus.slack_sign(raw, corpus.secret("slack"))}
    async with workers[0], workers[1], workers[2], workers[3]:
        r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=headers)
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 2)
    assert sorted(event["agent_ids"]) == sorted([member, nested])
    assert len(agents[member].seen) == len(agents[nested].seen) == 1
    assert agents[paused].seen == agents[outsider].seen == []
    assert paused in str(event["reason"])


async def test_event_with_no_agent_to_route_to_is_ignored_with_reason(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"ignored"})
    assert "no agent" in str(event["reason"])


async def test_signed_but_incomplete_payload_is_ignored_with_reason_not_dispatched(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent_id,), default_agents=(agent_id,))
    agent = RecordingAgent(agent_id)
    raw = b'{"action": "opened", "issue": "not an object", "repository": 7}'
    headers = {**corpus.entry("github.issues.opened")["headers"],
               "X-GitHub-Delivery": str(uuid.uuid4()),
               **corpus.github_sign(raw, corpus.secret("github"))}
    async with running(agent_worker(temporal_client, tenant, agent_id, agent.think)):
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        assert r.status_code == 202
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"ignored"})
    assert "has no issue" in str(event["reason"])
    assert agent.seen == []


async def test_recorded_histories_replay_deterministically(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent_id,), default_agents=(agent_id,))
    agent = RecordingAgent(agent_id)
    async with running(agent_worker(temporal_client, tenant, agent_id, agent.think)):
        raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    event_id = r.json()["workflow_id"]
    await temporal_client.get_workflow_handle(event_id).result()
    histories = [
        await temporal_client.get_workflow_handle(wid).fetch_history()
        for wid in (event_id, f"run/{event_id.removeprefix('event/')}/{agent_id}")
    ]
    replayer = Replayer(workflows=[EventWorkflow, AgentRunWorkflow],
                        data_converter=temporal_client.data_converter)
    for history in histories:
        await replayer.replay_workflow(history)
