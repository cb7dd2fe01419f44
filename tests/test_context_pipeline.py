"""The context engine in the pipeline: Slack threads remembered, retrieved for a GitHub issue of
the same project (never another tenant's), long threads summarized by the Temporal Schedule."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workflows.summarize import SCHEDULE_ID

LOGIN_THREAD = [
    "The login page times out on Safari after the OAuth redirect",
    "I see it too: the session cookie is dropped because SameSite is None without Secure",
    "Fix is to set Secure on the session cookie and bump the cookie library",
]
OTHER_TOPIC = ["Lunch on Friday is at the Thai place", "Great, I will book a table for eight"]


async def slack_message(http: httpx.AsyncClient, tenant: str, channel: str, text: str,
                        ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    """Send a signed Slack message; return the 202 body."""
    event = {"type": "message", "user": "U1", "text": text, "ts": ts, "channel": channel,
             "channel_type": "channel", **({"thread_ts": thread_ts} if thread_ts else {})}
    raw = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                      "team_id": "T1", "event": event}).encode()
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers={
        "Content-Type": "application/json", **corpus.slack_sign(raw, corpus.secret("slack"))})
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def thread(http: httpx.AsyncClient, admin: dict[str, str], client: Client, tenant: str,
                 channel: str, lines: list[str], root: str) -> None:
    """Post a thread and wait until every message was processed (and remembered)."""
    accepted = []
    for i, text in enumerate(lines):
        ts = root if i == 0 else f"{root[:-3]}{i:03d}"
        accepted.append(await slack_message(http, tenant, channel, text, ts,
                                            None if i == 0 else root))
    for body in accepted:  # an EventWorkflow completes only once its message is remembered
        await wait_status(http, admin, tenant, body["inbox_id"],
                          {"ignored"}, within=120)
        async with asyncio.timeout(120):
            await client.get_workflow_handle(str(body["workflow_id"])).result()


async def test_new_issue_gets_its_projects_slack_thread_and_never_another_tenants(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"ctx-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    rival = await make_tenant()
    await http.put(f"/admin/tenants/{tenant}/projects/web", headers=admin, json={
        "name": "Web",
        "mappings": [{"provider": "slack", "external_id": "C_WEB"},
                     {"provider": "github", "external_id": "acme/web"}]})
    await thread(http, admin, temporal_client,
                 rival, "C_WEB", [f"(rival) {line}" for line in LOGIN_THREAD],
                 "1700000100.000100")
    await thread(http, admin, temporal_client,
                 tenant, "C_WEB", OTHER_TOPIC, "1700000050.000100")
    await thread(http, admin, temporal_client,
                 tenant, "C_WEB", LOGIN_THREAD, "1700000000.000100")

    rec = RecordingAgent(agent)
    issue = json.loads(corpus.body(corpus.entry("github.issues.opened")))
    issue["issue"]["title"] = "Safari users cannot log in: session cookie lost after OAuth"
    issue["issue"]["body"] = f"@{agent} Login fails on Safari only. Probably the cookie settings."
    issue["repository"]["full_name"] = "acme/web"
    raw = json.dumps(issue).encode()
    headers = {**corpus.entry("github.issues.opened")["headers"],
               "X-GitHub-Delivery": str(uuid.uuid4()),
               **corpus.github_sign(raw, corpus.secret("github"))}
    async with running(agent_worker(temporal_client, tenant, agent, rec.think)):
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        [think] = await rec.wait_for(1, within=30)
    context = think.context
    assert context, "the agent got no context"
    assert context[0].source == "slack_thread" and "SameSite" in context[0].text
    assert all("(rival)" not in item.text for item in context)
    assert sum(item.tokens for item in context) <= 2000  # the agent's default budget
    await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)


async def test_a_thread_reaching_51_messages_is_summarized_by_the_schedule_and_searchable(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, pool: asyncpg.Pool,
) -> None:
    agent = f"sum-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    root = "1700000200.000100"
    lines = [LOGIN_THREAD[i % 3] + f" (note {i})" for i in range(51)]
    await thread(http, admin, temporal_client,
                 tenant, "C_OPS", lines, root)
    schedule = temporal_client.get_schedule_handle(SCHEDULE_ID)
    await schedule.trigger()

    async def summary_count() -> int:
        count: int = await pool.fetchval(
            "SELECT count(*) FROM context_documents WHERE tenant_id = $1 AND source = 'summary'",
            tenant)
        return count

    async with asyncio.timeout(60):
        while await summary_count() == 0:
            await asyncio.sleep(0.3)
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials",
                             headers=admin)).json()
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    token = (await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": f"Basic {basic}"})).json()["access_token"]
    r = await http.post("/context/search", headers={"Authorization": f"Bearer {token}"},
                        json={"query": "why does Safari lose the session cookie",
                              "sources": ["summary"]})
    assert r.status_code == 200, r.text
    [summary, *_] = r.json()
    assert summary["source"] == "summary" and "cookie" in summary["text"].lower()
    # summarized once; not again until the thread grows
    await schedule.trigger()
    await asyncio.sleep(3)
    assert await summary_count() == 1
