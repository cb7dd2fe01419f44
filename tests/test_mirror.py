"""The ClickUp <-> Slack mirror (issue #15 part 5), over the real API, Temporal and PostgreSQL,
with the gateway writing to the Slack and ClickUp fakes through their real clients.

A mapped pair: a task created in the list opens one thread in the channel; a reply in it becomes
one task comment, a task comment one reply, a status change a line in the thread; what the
mirror wrote, coming back as a webhook, is not mirrored again. Over the project's sync limit
(set small through the admin API) writes wait and go out once the hour has slid past.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tests import corpus
from tests.admin import store_secret
from tests.conftest import Remotes, TenantFactory
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts.mirror import MirrorResult
from workflows.event import EventWorkflow
from workflows.mirror import MirrorWorkflow

CHANNEL = "C0FRONTEND"  # a channel the Slack fake's bot is in
T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T | None]], within: float = 20) -> T:
    """Poll ``probe`` every 50 ms until it returns something."""
    async with asyncio.timeout(within):
        while (found := await probe()) is None:
            await asyncio.sleep(0.05)
    return found


class Pair:
    """A fresh tenant whose project mirrors a ClickUp list and the Slack channel."""

    def __init__(self, http: httpx.AsyncClient, admin: dict[str, str], client: Client,
                 remotes: Remotes, tenant: str) -> None:
        self.http, self.admin, self.client, self.remotes = http, admin, client, remotes
        self.tenant = tenant
        self.list_id = str(uuid.uuid4().int)[:9]
        self.posted: list[str] = []  # the event workflows started

    async def setup(self) -> None:
        """Secrets for both tools and the project with its mirrored pair."""
        for name in ("slack_bot_token", "clickup_token"):
            await store_secret(self.http, self.admin, self.tenant, name)
        r = await self.http.put(
            f"/admin/tenants/{self.tenant}/projects/web", headers=self.admin,
            json={"name": "Web", "mappings": [
                {"provider": "clickup", "external_id": self.list_id},
                {"provider": "slack", "external_id": CHANNEL}],
                "mirrors": [{"clickup_list": self.list_id, "slack_channel": CHANNEL}]})
        assert r.status_code == 200, r.text
        assert r.json()["mirrors"] == [{"clickup_list": self.list_id, "slack_channel": CHANNEL}]

    async def post(self, provider: str, body: dict[str, Any]) -> str:
        """Deliver a signed webhook; the id of the mirror workflow it would start."""
        raw = json.dumps(body).encode()
        r = await self.http.post(f"/webhooks/{provider}/{self.tenant}", content=raw, headers={
            "Content-Type": "application/json", **corpus.sign(provider, raw,
                                                              corpus.secret(provider))})
        assert r.status_code == 202, r.text
        self.posted.append(str(r.json()["workflow_id"]))
        return "mirror/" + self.posted[-1].removeprefix("event/")

    def clickup(self, event: str, task_id: str, **item: Any) -> dict[str, Any]:
        """ClickUp's published example of ``event`` on ``task_id`` in the list, fresh ids."""
        body: dict[str, Any] = json.loads(corpus.body(corpus.entry(f"clickup.{event}")))
        body.update(task_id=task_id, webhook_id=str(uuid.uuid4()))
        for history in body["history_items"]:
            history.update(id=str(uuid.uuid4().int)[:19], parent_id=self.list_id, **item)
        return body

    def comment(self, task_id: str, comment_id: str, text: str) -> dict[str, Any]:
        """A taskCommentPosted of ``text`` as comment ``comment_id``."""
        body = self.clickup("taskCommentPosted", task_id)
        history = body["history_items"][0]
        history["comment"].update(id=comment_id, text_content=text,
                                  comment=[{"text": text, "attributes": {}}])
        history["after"] = comment_id
        return body

    @staticmethod
    def slack_reply(thread_ts: str, text: str, user: str = "U0ALICE") -> tuple[dict[str, Any],
                                                                                 str]:
        """A person's reply in a Slack thread, and its ts."""
        ts = f"{time.time() + 1:.6f}"
        return {"type": "event_callback", "team_id": "T0SWITCH", "api_app_id": "A0SWITCH",
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
                "event": {"type": "message", "channel": CHANNEL, "channel_type": "channel",
                          "user": user, "text": text, "ts": ts, "thread_ts": thread_ts,
                          "event_ts": ts}}, ts

    def thread(self, root_ts: str) -> list[dict[str, Any]]:
        """What the Slack fake holds of the thread: its root, then its replies."""
        return [m for m in self.remotes.slack.messages
                if m["channel"] == CHANNEL and root_ts in (m["ts"], m.get("thread_ts"))]

    def comments(self, task_id: str) -> list[dict[str, Any]]:
        """The comments the ClickUp fake got on the task."""
        return [c for c in self.remotes.clickup.comments if c["task_id"] == task_id]

    async def mirrored(self, workflow_id: str, within: float = 20) -> MirrorResult:
        """The result of a mirror workflow (it is started by its event's workflow)."""
        handle = self.client.get_workflow_handle(workflow_id, result_type=MirrorResult)

        async def started() -> bool | None:
            try:
                await handle.describe()
            except RPCError:
                return None
            return True

        await until(started, within)
        async with asyncio.timeout(within):
            got = await handle.result()
        assert isinstance(got, MirrorResult)
        return got

    async def waiting(self, workflow_id: str) -> bool | None:
        """True once the mirror waits on a timer (over the sync limit)."""
        try:
            history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        except RPCError:
            return None
        return True if any(e.HasField("timer_started_event_attributes")
                           for e in history.events) else None


@pytest.fixture
async def pair(http: httpx.AsyncClient, admin: dict[str, str], temporal_client: Client,
               remotes: Remotes, make_tenant: TenantFactory) -> Pair:
    """A tenant with a mirrored list and channel (and no agents: the mirror is not one)."""
    made = Pair(http, admin, temporal_client, remotes, await make_tenant())
    await made.setup()
    return made


async def open_thread(pair: Pair, task_id: str, name: str) -> str:
    """Create the task (ClickUp's webhook); the ts of the thread's root it opened."""
    pair.remotes.clickup.add_task(task_id, name, list_id=pair.list_id)
    result = await pair.mirrored(await pair.post("clickup", pair.clickup("taskCreated", task_id)))
    assert result.failed == [] and len(result.written) == 1, result
    return result.written[0].removeprefix("open_thread:")


async def test_a_task_opens_one_thread_replies_and_comments_cross_once_without_echo(
    pair: Pair,
) -> None:
    task = f"86m{uuid.uuid4().hex[:8]}"
    root = await open_thread(pair, task, "Checkout fails on Safari")
    [message] = pair.thread(root)
    assert "Checkout fails on Safari" in message["text"]
    assert f"https://app.clickup.com/t/{task}" in message["text"]

    # ClickUp repeats the task's creation in a later delivery: still one thread.
    again = await pair.mirrored(await pair.post("clickup", pair.clickup("taskCreated", task)))
    assert again.written == [] and len(pair.thread(root)) == 1

    # A person's reply in the thread becomes one comment on the task.
    body, _ = pair.slack_reply(root, "Reproduced on iOS 17 too")
    to_clickup = await pair.mirrored(await pair.post("slack", body))
    [comment] = pair.comments(task)
    assert "Reproduced on iOS 17 too" in comment["comment_text"]
    assert to_clickup.written == [f"clickup_comment:{comment['id']}"]

    # That comment comes back as ClickUp's webhook: an echo, nothing posted to Slack.
    echo = await pair.mirrored(await pair.post(
        "clickup", pair.comment(task, str(comment["id"]), comment["comment_text"])))
    assert echo.written == [] and echo.reason.startswith("echo"), echo
    assert len(pair.thread(root)) == 1

    # A person's comment in ClickUp becomes one reply in the thread ...
    human = await pair.mirrored(await pair.post(
        "clickup", pair.comment(task, "777000111", "Fix is in review")))
    replies = pair.thread(root)[1:]
    assert [r["text"] for r in replies] == ["*John* on ClickUp: Fix is in review"]
    assert human.written == [f"slack_reply:{replies[0]['ts']}"]

    # A status change is posted into the thread.
    await pair.mirrored(await pair.post("clickup", pair.clickup("taskStatusUpdated", task)))
    texts = [r["text"] for r in pair.thread(root)[1:]]
    assert texts[1:] == [":arrows_counterclockwise: Status: to do → in progress (by John)"]
    assert len(pair.comments(task)) == 1  # still the one comment

    # The events' and mirrors' histories replay with the current workflows.
    replayer = Replayer(workflows=[EventWorkflow, AgentRunWorkflow, MirrorWorkflow],
                        data_converter=pair.client.data_converter,
                        workflow_runner=UnsandboxedWorkflowRunner())
    for event_id in pair.posted:
        for workflow_id in (event_id, "mirror/" + event_id.removeprefix("event/")):
            history = await pair.client.get_workflow_handle(workflow_id).fetch_history()
            await replayer.replay_workflow(history)


async def test_over_the_sync_limit_writes_wait_then_go_out_with_one_alert(
    pair: Pair, pool: asyncpg.Pool,
) -> None:
    r = await pair.http.put(f"/admin/tenants/{pair.tenant}/limits", headers=pair.admin,
                            json={"sync_events_per_hour": 2})
    assert r.status_code == 200, r.text
    task = f"86l{uuid.uuid4().hex[:8]}"
    root = await open_thread(pair, task, "Rate limited task")  # sync event 1
    first = await pair.mirrored(await pair.post(
        "clickup", pair.comment(task, "880000001", "first")))  # sync event 2
    assert len(first.written) == 1
    over = [await pair.post("clickup", pair.comment(task, f"88000000{n}", text))
            for n, text in ((2, "second"), (3, "third"))]
    for workflow_id in over:  # the 3rd and 4th wait on a durable timer, nothing is sent
        await until(lambda w=workflow_id: pair.waiting(w))  # type: ignore[misc]
    assert [m["text"] for m in pair.thread(root)[1:]] == ["*John* on ClickUp: first"]

    async def alerts() -> list[dict[str, Any]]:
        got = await pair.http.get(f"/admin/tenants/{pair.tenant}/alerts", headers=pair.admin)
        return [a for a in got.json() if a["kind"] == "mirror_sync_limit"]

    assert len(await alerts()) == 1

    # The hour slides past (the breaker's log aged by an hour, as the clock would do it).
    await pool.execute("UPDATE breaker_log SET at = at - interval '1 hour'"
                       " WHERE tenant_id = $1 AND kind = 'sync'", pair.tenant)
    results = [await pair.mirrored(w, within=30) for w in over]
    assert all(len(r.written) == 1 and r.waited >= 1 for r in results), results
    texts = sorted(m["text"] for m in pair.thread(root)[1:])
    assert texts == [f"*John* on ClickUp: {t}" for t in ("first", "second", "third")]
    assert len(await alerts()) == 1


async def test_a_mirror_needs_both_sides_mapped(pair: Pair) -> None:
    r = await pair.http.put(
        f"/admin/tenants/{pair.tenant}/projects/other", headers=pair.admin,
        json={"name": "Other", "mappings": [{"provider": "clickup", "external_id": "55"}],
              "mirrors": [{"clickup_list": "55", "slack_channel": "C0NOTMAPPED"}]})
    assert r.status_code == 422 and r.json()["error"] == "mirror_not_mapped", r.text
    r = await pair.http.put(
        f"/admin/tenants/{pair.tenant}/projects/other", headers=pair.admin,
        json={"name": "Other", "mappings": [{"provider": "clickup", "external_id": "55"},
                                            {"provider": "slack", "external_id": "C0OTHER"}],
              "mirrors": [{"clickup_list": "55", "slack_channel": "C0OTHER"}]})
    assert r.status_code == 200, r.text
