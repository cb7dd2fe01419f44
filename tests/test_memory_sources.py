"""Memory fed from every source, end to end (issue #13 part 4): a mapped repository's README is
fetched through the gateway's credential and reaches the next event's context; GitHub comments
and the agent's own reply are remembered, found by context search, edited and deleted; the
event's own thread comes first; a push changing the README re-fetches it."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.context import ContextActivities
from infra.context import ExtractiveSummarizer, Message
from infra.context.thread_model import ThreadKey
from infra.gateway import clickup, github
from infra.gateway import slack as slack_intents
from infra.gateway.readme import ReadmeReader
from infra.gateway.reply import RememberReplies
from infra.services import build_knowledge
from infra.settings import AgentSettings, Settings
from infra.vault import build_secret_store
from tests import corpus
from tests.admin import agent_token, bearer, grant, store_secret
from tests.conftest import GATEWAY_TOKEN, Remotes, TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_pipeline import wait_status
from workers.agent import agent_worker, runtime_worker
from workers.runtime import ScriptedLLM, build_runtime
from workflows.contracts import (
    Actor,
    EventKind,
    GatewayCall,
    ItemRef,
    Provider,
    StandardEvent,
    ToolCall,
)
from workflows.contracts.context import ReadmeRequest, ReadmeStored
from workflows.readme import ReadmeWorkflow, readme_workflow_id

README_V1 = ("# Shop\nThe shop's checkout runs on Stripe. Gift cards are redeemed by the "
             "giftcard service before payment; its errors surface as HTTP 500 in checkout.")
README_V2 = README_V1 + "\n\n## Deploys\nEvery merge to the default branch deploys to Fly.io."
FIRST = "Checkout answers 500 whenever the cart holds a gift card, since this morning."


async def deliver(http: httpx.AsyncClient, tenant: str, event: str, body: dict[str, Any]
                  ) -> dict[str, Any]:
    """A signed GitHub delivery; the 202 body."""
    raw = json.dumps(body).encode()
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers={
        "Content-Type": "application/json", "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()), **corpus.github_sign(raw, corpus.secret("github"))})
    assert r.status_code == 202, r.text
    accepted: dict[str, Any] = r.json()
    return accepted


async def settled(client: Client, accepted: dict[str, Any]) -> None:
    """Wait for the event's workflow: it completes only once what it remembers is stored."""
    handle = client.get_workflow_handle(str(accepted["workflow_id"]))
    async with asyncio.timeout(60):
        while True:
            try:
                await handle.result()
                return
            except RPCError as err:  # the relay has not started it yet
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(0.1)


def comment(repo: str, number: int, comment_id: int, text: str, action: str = "created"
            ) -> dict[str, Any]:
    """An issue_comment delivery (GitHub's published example, moved to our repo)."""
    body: dict[str, Any] = json.loads(corpus.body(corpus.entry("github.issue_comment.created")))
    body["action"] = action
    body["repository"]["full_name"], body["repository"]["name"] = repo, repo.split("/")[1]
    body["issue"]["number"] = number
    body["comment"].update(id=comment_id, body=text)
    if action == "edited":
        body["changes"] = {"body": {"from": FIRST}}
    return body


async def search(http: httpx.AsyncClient, token: str, query: str) -> list[dict[str, Any]]:
    """The agent's context search."""
    r = await http.post("/context/search", headers=bearer(token), json={"query": query, "k": 5})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


async def test_mapped_repo_readme_comments_and_the_agents_reply_are_remembered(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes, pool: asyncpg.Pool,
) -> None:
    agent = f"mem-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    repo = f"acme/shop-{uuid.uuid4().hex[:6]}"
    remotes.github.set_readme(repo, README_V1)
    remotes.github.add_issue(repo, 7, "Gift card checkout fails")
    await store_secret(http, admin, tenant, "github_token")
    await grant(http, admin, tenant, agent, "reply", repo)
    r = await http.put(f"/admin/tenants/{tenant}/projects/shop", headers=admin, json={
        "name": "Shop", "mappings": [{"provider": "github", "external_id": repo}]})
    assert r.status_code == 200, r.text

    # The mapping fetched the README (no upload), with the vaulted token, which history never saw
    handle: WorkflowHandle[ReadmeWorkflow, ReadmeStored] = temporal_client.get_workflow_handle(
        readme_workflow_id(tenant, repo), result_type=ReadmeStored)
    async with asyncio.timeout(60):
        while True:
            try:
                stored = await handle.result()
                break
            except RPCError as err:  # not started yet: the API starts it after answering
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(0.1)
    assert stored.document_id is not None and stored.project_id == "shop"
    history = await handle.fetch_history()
    assert GATEWAY_TOKEN not in history.to_json() and "Stripe" not in history.to_json()

    # A comment mentioning the agent: it replies through the gateway (reply -> github_comment)
    llm = ScriptedLLM([
        {"tool_calls": [{"name": "reply", "arguments": {
            "text": "Looking at the giftcard service's errors now."}}]},
        {"content": "Replied."}])
    async with build_runtime(AgentSettings(), agent, llm=llm) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        remotes.github.add_comment(repo, 7, f"@{agent} {FIRST}")  # as GitHub holds it
        first = await deliver(http, tenant, "issue_comment",
                              comment(repo, 7, 5_000_001, f"@{agent} {FIRST}"))
        event = await wait_status(http, admin, tenant, first["inbox_id"], {"dispatched"}, 1,
                                  within=60)
        await settled(temporal_client, first)
    assert event["outcomes"][0]["status"] == "answered", event
    [posted] = [c for c in remotes.github.comments if "giftcard service" in c["body"]]

    # Found by context search afterwards: the human comment and the agent's reply, marked
    token = await agent_token(http, admin, tenant, agent)
    mine = f"{agent} (agent): Looking at the giftcard service"
    async with asyncio.timeout(30):  # the gateway rebuilds the thread after answering
        while True:
            hits = await search(http, token, "checkout error with gift cards")
            thread = next(h for h in hits if h["source"] == "github_thread")
            if mine in thread["text"]:
                break
            await asyncio.sleep(0.2)
    assert FIRST in thread["text"]
    assert any(h["source"] == "readme" and "Stripe" in h["text"] for h in hits)
    r = await http.post("/context/search", headers=bearer(token), json={
        "query": "gift card", "sources": ["github_thread"]})
    assert r.status_code == 200 and [h["source"] for h in r.json()] == ["github_thread"]
    row = await pool.fetchrow(
        "SELECT author_kind, user_id FROM thread_messages WHERE tenant_id = $1"
        " AND provider = 'github' AND message_id = $2", tenant, str(posted["id"]))
    assert (row["author_kind"], row["user_id"]) == ("agent", agent)

    # The next event on the issue gets its own thread first (fetched now, else as remembered),
    # once, then the README
    rec = RecordingAgent(agent)
    async with running(agent_worker(temporal_client, tenant, agent, rec.think)):
        second = await deliver(http, tenant, "issue_comment",
                               comment(repo, 7, 5_000_002, f"@{agent} any news on this?"))
        [think] = await rec.wait_for(1, within=60)
        await settled(temporal_client, second)
    assert think.context[0].source == f"thread:github:{repo}:7"
    assert FIRST in think.context[0].text
    assert [i.source for i in think.context].count(f"thread:github:{repo}:7") == 1
    assert any(i.source == "readme" and "Stripe" in i.text for i in think.context)

    # An edit replaces the text; a deletion removes it
    await settled(temporal_client, await deliver(http, tenant, "issue_comment", comment(
        repo, 7, 5_000_001, "Checkout answers 500 for gift cards AND store credit.", "edited")))
    thread = next(h for h in await search(http, token, "checkout error with gift cards")
                  if h["source"] == "github_thread")
    assert "store credit" in thread["text"] and "since this morning" not in thread["text"]
    await settled(temporal_client, await deliver(http, tenant, "issue_comment", comment(
        repo, 7, 5_000_001, "", "deleted")))
    body = await pool.fetchval(
        "SELECT body FROM context_documents WHERE tenant_id = $1 AND source = 'github_thread'",
        tenant)
    assert "store credit" not in body and "Looking at the giftcard service" in body

    # A push to the default branch changing README.md fetches it again
    remotes.github.set_readme(repo, README_V2)
    push = json.loads(corpus.body(corpus.entry("github.push.branch")))
    push["repository"].update(full_name=repo, name=repo.split("/")[1], default_branch="main")
    push.update(ref="refs/heads/main", deleted=False, created=False,
                commits=[{"id": "a" * 40, "message": "Document deploys", "added": [],
                          "modified": ["README.md"], "removed": []}])
    await settled(temporal_client, await deliver(http, tenant, "push", push))
    readme = await pool.fetchval(
        "SELECT body FROM context_documents WHERE tenant_id = $1 AND source = 'readme'"
        " AND project_id = 'shop'", tenant)
    assert readme == README_V2


def _event(tenant: str, provider: Provider, kind: EventKind, container: str, item: str,
           facts: dict[str, Any], text: str | None = None, actor: str = "U1") -> StandardEvent:
    """A normalized event as the normalizers hand it to remember_event."""
    return StandardEvent(
        tenant_id=tenant, provider=provider, source_event="test", kind=kind,
        ignore_reason="edited: memory updated" if kind is EventKind.IGNORE else None,
        actor=Actor(id=actor, name=actor), text=text,
        ref=ItemRef(container=container, item=item), facts=facts)


async def test_remember_event_adds_edits_and_deletes_and_the_gateway_marks_agents_messages(
    make_tenant: TenantFactory, settings: Settings, pool: asyncpg.Pool,
) -> None:
    tenant = await make_tenant()
    embedder, knowledge = build_knowledge(pool, settings.context)
    context = ContextActivities(pool, knowledge, ExtractiveSummarizer(embedder))
    env = ActivityEnvironment()
    slack, root = Provider.SLACK, "1700000000.000100"
    await env.run(context.remember_event, _event(
        tenant, slack, EventKind.NEW_WORK_ITEM, "C5", root,
        {"memory": "add", "message_id": root, "ts": root}, "The nightly export job crashed"))
    # a Slack message normalized before the memory facts existed is still remembered
    await env.run(context.remember_event, _event(
        tenant, slack, EventKind.COMMENT, "C5", root, {"ts": "1700000001.000200"},
        "It ran out of memory at 2 GB", "U2"))
    await env.run(context.remember_event, _event(
        tenant, slack, EventKind.IGNORE, "C5", root,
        {"memory": "edit", "message_id": "1700000001.000200"}, "It ran out of memory at 4 GB",
        "U2"))
    key = ThreadKey("slack", "C5", root)
    assert [m.text for m in await knowledge.thread_messages(tenant, "C5", root)] == [
        "The nightly export job crashed", "It ran out of memory at 4 GB"]
    await env.run(context.remember_event, _event(
        tenant, slack, EventKind.IGNORE, "C5", root, {"memory": "delete", "message_id": root}))
    assert await knowledge.thread_messages(tenant, "C5", root) == [
        Message("1700000001.000200", "U2", "It ran out of memory at 4 GB")]

    # ClickUp: a person's comment on a task, then the agent's comment on it (task id only)
    await env.run(context.remember_event, _event(
        tenant, Provider.CLICKUP, EventKind.COMMENT, "901", "86abc",
        {"memory": "add", "message_id": "90017"}, "Please split the invoice PDF by month", "dana"))
    remember = RememberReplies(knowledge)
    call = GatewayCall(tenant_id=tenant, agent_id="writer", idempotency_key="k1",
                       call=ToolCall(id="c1", name="clickup_comment", arguments={}))
    await remember(call, clickup.CommentArgs(task_id="86abc", text="Done: one PDF a month."),
                   {"id": "90018"})
    [dana, writer] = await knowledge.thread_messages(tenant, "901", "86abc", "clickup")
    assert (dana.user, dana.agent, writer.user, writer.agent) == ("dana", False, "writer", True)
    # the task moved to another list: its comments stay in the one thread
    await env.run(context.remember_event, _event(
        tenant, Provider.CLICKUP, EventKind.COMMENT, "902", "86abc",
        {"memory": "add", "message_id": "90019"}, "Thanks, looks right", "dana"))
    assert [m.ts for m in await knowledge.thread_messages(tenant, "901", "86abc", "clickup")
            ] == ["90017", "90018", "90019"]
    # a Slack post or a GitHub issue of the agent's starts a thread of its own; a write that
    # posts no message (a ClickUp task) remembers nothing
    await remember(call, slack_intents.PostMessageArgs(channel="C6", text="Deploy finished"),
                   {"channel": "C6", "ts": "1700000100.000100"})
    await remember(call, github.CreateIssueArgs(repo="acme/x", title="Flaky login test",
                                                body="It fails one run in ten."),
                   {"number": 3, "url": "https://github.com/acme/x/issues/3"})
    await remember(call, clickup.CreateTaskArgs(list_id="901", name="t"), {"id": "86new"})
    [issue] = await knowledge.thread_messages(tenant, "acme/x", "3", "github")
    assert issue == Message("issue-3", "writer", "Flaky login test\nIt fails one run in ten.",
                            agent=True)
    [post] = await knowledge.thread_messages(tenant, "C6", "1700000100.000100")
    assert post.agent and post.text == "Deploy finished"
    await remember.settle()  # the thread documents are rebuilt in the background
    bodies = {r["source_key"]: r["body"] for r in await pool.fetch(
        "SELECT source_key, body FROM context_documents WHERE tenant_id = $1", tenant)}
    assert "\nwriter (agent): Done: one PDF a month.\n" in bodies["clickup:901:86abc"]
    assert bodies["C6:1700000100.000100"] == "writer (agent): Deploy finished"
    assert await pool.fetchval(
        "SELECT count(*) FROM thread_messages WHERE tenant_id = $1", tenant) == 6
    assert key.context_key == f"thread:slack:C5:{root}"


async def test_readme_fetch_needs_the_vaulted_token_and_leaks_it_nowhere(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    settings: Settings, pool: asyncpg.Pool, remotes: Remotes,
) -> None:
    tenant = await make_tenant()
    repo = f"acme/docs-{uuid.uuid4().hex[:6]}"
    embedder, knowledge = build_knowledge(pool, settings.context)
    reader = ReadmeReader(pool, build_secret_store(settings, pool), settings.gateway)
    context = ContextActivities(pool, knowledge, ExtractiveSummarizer(embedder), reader)
    request = ReadmeRequest(tenant_id=tenant, repo=repo, project_id="docs")
    env = ActivityEnvironment()
    stored = await env.run(context.fetch_readme, request)
    assert stored.document_id is None and "no secret 'github_token'" in (stored.note or "")
    await store_secret(http, admin, tenant, "github_token")
    remotes.github.repos.add(repo)
    stored = await env.run(context.fetch_readme, request)
    assert stored.document_id is None and stored.note == f"{repo} has no README"
    remotes.github.set_readme(repo, "# Docs\nHow we write docs.")
    remotes.github.fail_next(503, "Service Unavailable")
    with pytest.raises(ApplicationError) as failed:  # GitHub down: Temporal retries
        await env.run(context.fetch_readme, request)
    assert not failed.value.non_retryable
    stored = await env.run(context.fetch_readme, request)
    assert stored.document_id is not None
    title, url = await pool.fetchrow("SELECT title, url FROM context_documents WHERE id = $1",
                                     stored.document_id)
    assert (title, url) == (f"{repo} README", f"https://github.com/{repo}/blob/main/README.md")
    audit = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).text
    assert audit.count('"github_readme"') == 4 and GATEWAY_TOKEN not in audit
