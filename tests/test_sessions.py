"""Sessions end to end (issue #14 parts 1, 2, 5): signed Slack messages in one thread reach the
agent's SessionWorkflow over the real API, Temporal and PostgreSQL; each think sees the
conversation so far; mid-turn policies, debounce, idle close and bounded history."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
from temporalio import activity
from temporalio.client import Client

from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.names import THINK_ACTIVITY

ROOT = "1700000000.000100"


async def post_slack(http: httpx.AsyncClient, tenant: str, text: str, ts: str,
                     thread_ts: str | None = None) -> int:
    """Post one signed Slack message (a reply when ``thread_ts``); return its inbox id."""
    message: dict[str, Any] = {"type": "message", "user": "U1", "text": text, "ts": ts,
                               "channel": "C1", "channel_type": "channel"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    raw = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                      "team_id": "T1", "event": message}).encode()
    headers = {"Content-Type": "application/json",
               **corpus.slack_sign(raw, corpus.secret("slack"))}
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    inbox_id: int = r.json()["inbox_id"]
    return inbox_id


class HeldAgent:
    """A think that records its input and, while ``hold`` is clear, keeps thinking (heartbeating,
    so a cancelled think hears it)."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.seen: list[ThinkInput] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.cancelled = 0

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Record, wait while held, answer with the turn and the text."""
        self.seen.append(inp)
        try:
            while not self.hold.is_set():
                activity.heartbeat()
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        turn = inp.conversation.turn if inp.conversation else 0
        return ThinkOutput(final=f"answer {len(self.seen)} (turn {turn}): {inp.event.text}")

    async def wait_for(self, count: int, within: float = 30) -> ThinkInput:
        """The ``count``-th think's input, once it arrived."""
        async with asyncio.timeout(within):
            while len(self.seen) < count:
                await asyncio.sleep(0.02)
        return self.seen[count - 1]


async def make_agent(http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
                     **session: object) -> tuple[str, str]:
    """A tenant whose one agent gets every event, with these session settings."""
    agent = f"ses-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                         json={"session_debounce_ms": 100, **session})
    assert r.status_code == 200, r.text
    return tenant, agent


async def sessions_of(pool: asyncpg.Pool, tenant: str) -> list[dict[str, Any]]:
    """The tenant's session rows, each with its turns."""
    rows = [dict(r) for r in await pool.fetch(
        "SELECT * FROM sessions WHERE tenant_id = $1 ORDER BY created_at", tenant)]
    for row in rows:
        row["turn_rows"] = [dict(t) for t in await pool.fetch(
            "SELECT * FROM session_turns WHERE session_id = $1 ORDER BY turn", row["id"])]
    return rows


async def test_second_message_in_a_thread_sees_the_first_and_the_answer(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, pool: asyncpg.Pool,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant)
    brain = HeldAgent(agent)
    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        first = await post_slack(http, tenant, "please fix the login page", ROOT)
        one = await wait_status(http, admin, tenant, first, {"dispatched"}, 1)
        second = await post_slack(http, tenant, "and also fix the tests",
                                  "1700000001.000200", ROOT)
        two = await wait_status(http, admin, tenant, second, {"dispatched"}, 1)
    think = brain.seen[1]
    assert think.conversation is not None and think.conversation.turn == 2
    [earlier] = think.conversation.turns
    assert [m.text for m in earlier.messages] == ["please fix the login page"]
    assert earlier.answer == one["outcomes"][0]["final"]
    assert think.event.text == "and also fix the tests"
    assert two["outcomes"][0]["final"].startswith("answer 2 (turn 2)")
    [session] = await sessions_of(pool, tenant)
    assert (session["agent_id"], session["thread"]) == (agent, f"slack:C1:{ROOT}")
    assert session["turns"] == 2 and session["status"] == "waiting"
    assert [(t["turn"], t["status"]) for t in session["turn_rows"]] == [(1, "done"), (2, "done")]
    assert session["turn_rows"][1]["messages"][0]["event_id"] == second


async def test_demo_agent_says_which_turn_and_what_it_was_told(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant)
    async with running(agent_worker(temporal_client, tenant, agent)):  # the demo policy
        first = await post_slack(http, tenant, "deploy the staging site", ROOT)
        one = await wait_status(http, admin, tenant, first, {"dispatched"}, 1)
        second = await post_slack(http, tenant, "did it work?", "1700000002.000300", ROOT)
        two = await wait_status(http, admin, tenant, second, {"dispatched"}, 1)
    assert "This is turn 1 of our conversation" in one["outcomes"][0]["final"]
    final = two["outcomes"][0]["final"]
    assert "This is turn 2 of our conversation" in final
    assert "'deploy the staging site'" in final
