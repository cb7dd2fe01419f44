"""Enrichment before dispatch: the ClickUp task, the Slack thread, the GitHub issue an event is
about reach the agent, through the real clients against the local fakes (issue #13 part 3)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from infra.enrichment import target_of
from infra.enrichment.cache import TtlCache
from tests import corpus
from tests.admin import store_secret
from tests.conftest import GATEWAY_TOKEN, Remotes, TenantFactory
from tests.harness import RecordingAgent, running
from tests.solo_tenant import solo_tenant
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workflows.contracts import EventKind, Provider, StandardEvent, ThinkInput
from workflows.event import EventWorkflow
from workflows.ids import event_workflow_id
from workflows.policies import ENRICH_TIMEOUT


def clickup_delivery(task_id: str, event: str = "taskCreated") -> tuple[bytes, dict[str, str]]:
    """ClickUp's published example of ``event`` for ``task_id``, fresh ids, signed."""
    body = json.loads(corpus.body(corpus.entry(f"clickup.{event}")))
    body.update(task_id=task_id, webhook_id=str(uuid.uuid4()))
    for item in body["history_items"]:
        item["id"] = str(uuid.uuid4().int)[:19]
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 **corpus.clickup_sign(raw, corpus.secret("clickup"))}


def task_id() -> str:
    """A fresh ClickUp task id."""
    return f"86e{uuid.uuid4().hex[:8]}"


def task_reads(remotes: Remotes, task: str) -> list[dict[str, str]]:
    """The headers of every GET of ``task`` the fake ClickUp received."""
    return [r.headers for r in remotes.clickup.requests if r.path == f"/api/v2/task/{task}"]


async def dispatch(http: httpx.AsyncClient, admin: dict[str, str], temporal_client: Client,
                   tenant: str, provider: str, raw: bytes, headers: dict[str, str],
                   agents: list[str], reached: list[str] | None = None
                   ) -> tuple[dict[str, Any], dict[str, list[ThinkInput]]]:
    """Post one delivery with the agents' workers up; the event row and what each agent saw."""
    recorders = {a: RecordingAgent(a) for a in agents}
    async with contextlib.AsyncExitStack() as workers:
        for a, rec in recorders.items():
            await workers.enter_async_context(
                running(agent_worker(temporal_client, tenant, a, rec.think)))
        r = await http.post(f"/webhooks/{provider}/{tenant}", content=raw, headers=headers)
        assert r.status_code == 202, r.text
        expected = reached if reached is not None else agents
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"},
                                  len(expected))
    event["workflow_id"] = r.json()["workflow_id"]
    return event, {a: rec.seen for a, rec in recorders.items()}


def ids(n: int) -> list[str]:
    """Fresh agent ids."""
    return [f"ag-{uuid.uuid4().hex[:8]}" for _ in range(n)]


async def test_clickup_task_created_reaches_the_agent_with_the_tasks_name_and_description(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "Checkout fails on Safari",
                             "Steps: open /checkout in Safari 17, press Pay. Nothing happens.",
                             list_id="162641062", status="to do")
    raw, headers = clickup_delivery(task)
    event, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                                 [agent])
    [think] = seen[agent]
    assert think.event.title == "Checkout fails on Safari"
    assert think.event.text == "Steps: open /checkout in Safari 17, press Pay. Nothing happens."
    assert think.event.url == f"https://app.clickup.com/t/{task}"
    assert think.event.facts["enrichment"] == f"ClickUp task {task} fetched"
    assert think.event.facts["task_status"] == "to do"
    # The task card leads the context, under the thread's key.
    assert think.context[0].source == f"thread:clickup:162641062:{task}"
    assert "Status: to do" in think.context[0].text
    assert "Steps:" not in think.context[0].text  # the description is the event's text once
    # Read through the real client path, with the tenant's credential from the vault.
    assert [h["authorization"] for h in task_reads(remotes, task)] == [GATEWAY_TOKEN]
    assert event["event"]["title"] == "Checkout fails on Safari"  # the stored event too


async def test_a_clickup_comment_keeps_its_text_and_gets_the_task_with_its_description(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "Invoice PDF is blank", "Only for invoices over 10 pages.")
    raw, headers = clickup_delivery(task, "taskCommentPosted")
    comment = json.loads(raw)["history_items"][0]["comment"]["text_content"]
    _, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                             [agent])
    [think] = seen[agent]
    assert think.event.kind.value == "comment"
    assert think.event.title == "Invoice PDF is blank"
    assert think.event.text == comment
    assert think.context[0].text.endswith("\n\nOnly for invoices over 10 pages.")


async def test_ai_squad_in_the_task_description_reaches_the_alias_members(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    member, nested, default = agents = ids(3)
    tenant = await make_tenant(agents=tuple(agents), default_agents=(default,))
    base = f"/admin/tenants/{tenant}"
    await http.put(f"{base}/aliases/Frontend", headers=admin, json={"members": [nested]})
    await http.put(f"{base}/aliases/AI_Squad", headers=admin,
                   json={"members": [member, "@Frontend"]})
    await store_secret(http, admin, tenant, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "Dark mode", "@AI_Squad please add a dark mode toggle")
    raw, headers = clickup_delivery(task)
    event, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                                 agents, reached=[member, nested])
    assert sorted(event["agent_ids"]) == sorted([member, nested])
    assert event["reason"] == "mentioned or assigned"
    assert [len(seen[a]) for a in agents] == [1, 1, 0]
    assert seen[member][0].event.mentions == ["AI_Squad"]


async def test_clickup_down_dispatches_the_bare_event_with_a_note(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "Never read", "unreachable")
    remotes.clickup.fail_next(503, "Service unavailable", times=20)
    try:
        started = time.monotonic()
        raw, headers = clickup_delivery(task)
        _, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                                 [agent])
        waited = time.monotonic() - started
    finally:
        remotes.clickup.failures.clear()
    [think] = seen[agent]
    assert think.event.title == f"ClickUp task {task}"  # the bare event
    note = think.event.facts["enrichment"]
    assert note.startswith("not fetched: ClickUp answered 503"), note
    assert 2 <= len(task_reads(remotes, task)) <= 4  # retried within the policy, then gave up
    assert waited < ENRICH_TIMEOUT.total_seconds() + 5


async def test_without_a_credential_the_bare_event_goes_at_once_with_a_note(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin)
    task = task_id()
    remotes.clickup.add_task(task, "Secretless", "")
    raw, headers = clickup_delivery(task)
    _, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                             [agent])
    note = seen[agent][0].event.facts["enrichment"]
    assert note == "not fetched: the tenant has no 'clickup_token' in the vault"
    assert task_reads(remotes, task) == []


def _payloads(message: Message) -> Iterator[Payload]:
    """Every Payload inside a history event (fields, lists and maps of them, at any depth)."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        else:
            values = [value] if isinstance(value, Message) else list(value)
        for item in values:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from _payloads(item)


async def test_the_credential_never_reaches_workflow_history(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "History check", "a description only the fake knows")
    raw, headers = clickup_delivery(task)
    event, _ = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                              [agent])
    workflow_id = event["workflow_id"]
    await temporal_client.get_workflow_handle(workflow_id).result()
    histories = [await temporal_client.get_workflow_handle(wid).fetch_history()
                 for wid in (workflow_id, f"run/{workflow_id.removeprefix('event/')}/{agent}")]
    stored = b"".join(e.SerializeToString() for h in histories for e in h.events)
    codec = temporal_client.data_converter.payload_codec
    assert codec is not None  # the history's payloads are sealed: search them opened too
    opened = b"".join(p.SerializeToString() for p in await codec.decode(
        [p for h in histories for e in h.events for p in _payloads(e)]))
    assert b"a description only the fake knows" in opened  # the search does find payloads
    assert GATEWAY_TOKEN.encode() not in stored + opened
    assert [h["authorization"] for h in task_reads(remotes, task)] == [GATEWAY_TOKEN]


async def test_a_second_event_on_the_task_within_seconds_reads_it_once(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "clickup_token")
    task = task_id()
    remotes.clickup.add_task(task, "Cached", "read once")
    notes = []
    for event_name in ("taskCreated", "taskStatusUpdated"):  # then a status change on it
        raw, headers = clickup_delivery(task, event_name)
        _, seen = await dispatch(http, admin, temporal_client, tenant, "clickup", raw, headers,
                                 [agent])
        notes.append(seen[agent][0].event.facts["enrichment"])
        assert seen[agent][0].event.title == "Cached"
    assert notes == [f"ClickUp task {task} fetched", f"ClickUp task {task} (cached)"]
    assert len(task_reads(remotes, task)) == 1


def _event(provider: Provider, kind: EventKind, **facts: Any) -> StandardEvent:
    return StandardEvent(tenant_id="t", provider=provider, source_event="x", kind=kind,
                         facts=facts)


def test_what_is_enriched() -> None:
    targets = [target_of(e) for e in (
        _event(Provider.CLICKUP, EventKind.NEW_WORK_ITEM, task_id="86a", list_id="9"),
        _event(Provider.SLACK, EventKind.COMMENT, channel="C1", ts="2.0", thread_ts="1.0"),
        _event(Provider.GITHUB, EventKind.REVIEW, repo="acme/web", number=4),
        _event(Provider.GITHUB, EventKind.COMMENT, repo="acme/web", number=5),
    )]
    assert [t.source if t else None for t in targets] == [
        "thread:clickup:9:86a", "thread:slack:C1:1.0", "thread:github:acme/web:4",
        "thread:github:acme/web:5"]
    assert [target_of(e) for e in (
        _event(Provider.SLACK, EventKind.NEW_WORK_ITEM, channel="C1", ts="1.0"),  # a root
        _event(Provider.SLACK, EventKind.NEW_WORK_ITEM, channel="C1", ts="1.0", thread_ts="1.0"),
        _event(Provider.GITHUB, EventKind.NEW_WORK_ITEM, repo="acme/web", number=6),  # carried
        _event(Provider.CLICKUP, EventKind.IGNORE, task_id="86a"),
        _event(Provider.CLICKUP, EventKind.UPDATE, task_id="../86a"),  # never into a URL path
        _event(Provider.CLICKUP, EventKind.UPDATE, task_id=".."),
        _event(Provider.GITHUB, EventKind.COMMENT, repo="../x", number=5),
        _event(Provider.GITHUB, EventKind.COMMENT, repo="acme/..", number=5),
        _event(Provider.SLACK, EventKind.COMMENT, channel="C1", ts="2.0", thread_ts="1&x=2"),
    )] == [None] * 9


def test_the_cache_forgets_after_its_ttl() -> None:
    now = [100.0]
    cache: TtlCache[str] = TtlCache(ttl=10, size=2, clock=lambda: now[0])
    cache.put(("t1", "task", "a"), "A")
    assert cache.get(("t1", "task", "a")) == "A"
    assert cache.get(("t2", "task", "a")) is None  # per tenant
    now[0] += 10
    assert cache.get(("t1", "task", "a")) is None
    for key in "xyz":
        cache.put(key, key)
    assert [cache.get(k) for k in "xyz"] == [None, "y", "z"]  # bounded, oldest out


async def test_a_slack_reply_carries_its_thread(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "slack_bot_token")
    channel, root = f"C{uuid.uuid4().hex[:8].upper()}", "1700000000.000100"
    remotes.slack.add_thread(channel, root, [
        ("U_ANA", "the nightly export is empty since Monday"),
        ("U_BO", "it reads from the old bucket"), ("U_ANA", "can someone move it?")])


    def message(text: str, ts: str, thread_ts: str | None) -> tuple[bytes, dict[str, str]]:
        raw = json.dumps({
            "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}", "team_id": "T1",
            "event": {"type": "message", "user": "U_ANA", "text": text, "ts": ts,
                      "channel": channel, "channel_type": "channel",
                      **({"thread_ts": thread_ts} if thread_ts else {})}}).encode()
        return raw, {"Content-Type": "application/json",
                     **corpus.slack_sign(raw, corpus.secret("slack"))}

    # The root was seen (and remembered) before: the fetched thread replaces that copy.
    first, _ = await dispatch(http, admin, temporal_client, tenant, "slack",
                              *message("the nightly export is empty since Monday", root, None),
                              [agent])
    await temporal_client.get_workflow_handle(first["workflow_id"]).result()
    _, seen = await dispatch(http, admin, temporal_client, tenant, "slack",
                             *message("can someone move it?", "1700000000.002100", root),
                             [agent])
    [think] = seen[agent]
    key = f"thread:slack:{channel}:{root}"
    assert [item.source for item in think.context].count(key) == 1
    assert think.context[0].source == key
    assert think.context[0].text.splitlines() == [
        "U_ANA: the nightly export is empty since Monday", "U_BO: it reads from the old bucket",
        "U_ANA: can someone move it?"]
    assert think.event.facts["thread_messages"] == 3
    [read] = [r for r in remotes.slack.requests if r.body.get("channel") == channel]
    assert read.path == "/api/conversations.replies"
    assert read.body["ts"] == root and int(read.body["limit"]) <= 50  # bounded


async def test_a_github_comment_carries_its_pull_request(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    tenant, agent = await solo_tenant(make_tenant, http, admin, "github_token")
    repo = f"acme/svc-{uuid.uuid4().hex[:6]}"
    remotes.github.repos.add(repo)
    remotes.github.add_issue(repo, 1, "Retry the upload", "Uploads fail on flaky Wi-Fi.",
                             pull=True)
    remotes.github.add_comment(repo, 1, "LGTM once the backoff is capped", login="reviewer")
    body = json.loads(corpus.body(corpus.entry("github.issue_comment.created")))
    body["repository"]["full_name"] = repo
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "issue_comment",
               "X-GitHub-Delivery": str(uuid.uuid4()),
               **corpus.github_sign(raw, corpus.secret("github"))}
    _, seen = await dispatch(http, admin, temporal_client, tenant, "github", raw, headers,
                             [agent])
    [think] = seen[agent]
    assert think.event.text == body["comment"]["body"]  # the comment stays the event
    first = think.context[0]
    assert first.source == f"thread:github:{repo}:1"
    assert first.text.splitlines()[0] == "Pull request #1: Retry the upload (open)"
    assert "Uploads fail on flaky Wi-Fi." in first.text
    assert "reviewer: LGTM once the backoff is capped" in first.text
    assert think.event.facts["enrichment"] == f"GitHub pull request {repo}#1 fetched"


async def test_an_ignored_deletion_still_reaches_memory(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    tenant = await make_tenant()
    body = json.loads(corpus.body(corpus.entry("slack.catalog.message.deleted")))
    body["event_id"] = f"Ev{uuid.uuid4().hex[:10]}"
    raw = json.dumps(body).encode()
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers={
        "Content-Type": "application/json", **corpus.slack_sign(raw, corpus.secret("slack"))})
    assert r.status_code == 202, r.text
    event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"ignored"})
    assert event["event"]["facts"]["memory"] == "delete"
    handle = temporal_client.get_workflow_handle(r.json()["workflow_id"])
    await handle.result()
    events = (await handle.fetch_history()).events
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in events if e.HasField("activity_task_scheduled_event_attributes")]
    assert scheduled == []  # remembering a message is a local activity: a marker, not a task
    local = [json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
             for e in events if e.HasField("marker_recorded_event_attributes")
             and "data" in e.marker_recorded_event_attributes.details]
    assert sorted(m["activity_type"] for m in local) == ["prepare_event", "record_outcome",
                                                         "remember_event"]


HISTORIES = sorted((Path(__file__).parent / "fixtures" / "histories").glob(
    "event_before_enrichment_*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_histories_from_before_enrichment_still_replay(
    path: Path, temporal_client: Client,
) -> None:
    """Recorded with the EventWorkflow of 029d761's parent: a ClickUp taskCreated and a Slack
    thread reply dispatched, a Slack deletion ignored (none enriched, the deletion not
    remembered); the enrich-before-dispatch patch keeps them replaying."""
    recorded = WorkflowHistory.from_json("", await asyncio.to_thread(path.read_text))
    started = recorded.events[0].workflow_execution_started_event_attributes
    inp = json.loads(started.input.payloads[0].data)  # the id is derived from the input
    history = WorkflowHistory(event_workflow_id(inp["tenant_id"], inp["provider"],
                                                inp["dedup_key"]), recorded.events)
    replayer = Replayer(workflows=[EventWorkflow], data_converter=temporal_client.data_converter)
    await replayer.replay_workflow(history)
