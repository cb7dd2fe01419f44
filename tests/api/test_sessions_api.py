"""The sessions API over the real API, PostgreSQL and Temporal: listing with filters and pages,
a session with its turns, pause/resume/close signalled to the session's workflow, tenant
isolation, roles, and a 503 (never a 500) while Temporal is unreachable.

Sessions here are seeded as rows with SQL (the one writer, infra/sessions/store.py, is the
SessionWorkflow's); their workflow is a real run on the real server, on a task queue nobody
polls, so that the signals the API sends can be read back from its history.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.admin import bearer
from tests.conftest import TenantFactory
from tests.harness import api_server, free_port, running
from tests.test_pipeline import wait_status
from tests.test_sessions import ROOT, HeldAgent, make_agent, post_slack
from workers.agent import agent_worker

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
Seed = Callable[..., Awaitable[str]]


@pytest.fixture
def seed(pool: asyncpg.Pool) -> Seed:
    """Write a session row (and its turns) as the SessionWorkflow's store would; its id."""

    async def write(tenant: str, agent: str, thread: str, status: str = "waiting", *,
                    minutes: int = 0, workflow_id: str | None = None,
                    turns: list[dict[str, Any]] | None = None) -> str:
        turns = turns or []
        session_id = f"ses_{uuid.uuid4().hex[:16]}"
        created = T0 + timedelta(minutes=minutes)
        await pool.execute(
            "INSERT INTO sessions (id, tenant_id, agent_id, thread, workflow_id, status, turns,"
            " summary, created_at, updated_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
            " $8, $9, $9, $10)",
            session_id, tenant, agent, thread,
            workflow_id or f"session/{tenant}/{agent}/{thread}", status, len(turns),
            "earlier: asked for the logs" if turns else None, created,
            created + timedelta(hours=1) if status == "closed" else None)
        for n, t in enumerate(turns, start=1):
            await pool.execute(
                "INSERT INTO session_turns (session_id, turn, messages, answer, tool_calls,"
                " status, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                session_id, n, t["messages"], t.get("answer"), t.get("tool_calls", []),
                t.get("status", "done"), created + timedelta(seconds=n),
                created + timedelta(seconds=n + 1) if t.get("answer") else None)
        return session_id

    return write


async def _user(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                role: str) -> dict[str, str]:
    """A fresh user holding ``role`` on ``tenant`` (its quota raised); its auth headers."""
    email = f"ses-{role}-{uuid.uuid4().hex[:8]}@example.com"
    r = await http.post("/admin/users", headers=admin, json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                       json={"role": role})
    assert r.status_code == 200, r.text
    r = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def _workflow(client: Client, workflow_id: str) -> None:
    """A running SessionWorkflow execution under ``workflow_id`` (no worker polls its queue)."""
    await client.start_workflow("SessionWorkflow", id=workflow_id,
                                task_queue=f"nobody-{uuid.uuid4().hex[:8]}")


async def _signals(client: Client, workflow_id: str) -> list[str]:
    """The signals the workflow's history holds, in order."""
    names = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            names.append(event.workflow_execution_signaled_event_attributes.signal_name)
    return names


async def test_sessions_are_listed_newest_first_filtered_and_paged(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,
) -> None:
    tenant = await make_tenant(agents=("ada", "bob"))
    a1 = await seed(tenant, "ada", "slack:C1:1.1", "waiting", minutes=1)
    a2 = await seed(tenant, "ada", "slack:C1:2.2", "closed", minutes=2)
    b3 = await seed(tenant, "bob", "slack:C1:1.1", "paused", minutes=3)
    a4 = await seed(tenant, "ada", "github:o/r:7", "running", minutes=4)
    base = f"/admin/tenants/{tenant}/sessions"

    async def ids(**params: Any) -> list[str]:
        r = await http.get(base, headers=admin, params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    assert await ids() == [a4, b3, a2, a1]
    assert await ids(agent="ada") == [a4, a2, a1]
    assert await ids(status="paused") == [b3]
    assert await ids(thread="slack:C1:1.1") == [b3, a1]
    assert await ids(agent="ada", status="waiting", thread="slack:C1:1.1") == [a1]
    assert await ids(agent="nobody") == []
    assert await ids(limit=2) == [a4, b3]
    assert await ids(limit=2, before=b3) == [a2, a1]
    assert await ids(limit=2, after=a1) == [b3, a2]
    assert await ids(after=b3) == [a4]

    r = await http.get(base, headers=admin, params={"status": "sleeping"})
    assert r.status_code == 422 and "status" in r.json()["detail"]
    r = await http.get(base, headers=admin, params={"before": a1, "after": a4})
    assert r.status_code == 422
    r = await http.get(base, headers=admin, params={"before": "ses_0000000000000000"})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_cursor")
    r = await http.get(f"/admin/tenants/t-{uuid.uuid4().hex[:8]}/sessions", headers=admin)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_tenant")
    [row] = (await http.get(base, headers=admin, params={"status": "closed"})).json()
    assert row == {"id": a2, "agent_id": "ada", "thread": "slack:C1:2.2",
                   "workflow_id": f"session/{tenant}/ada/slack:C1:2.2", "status": "closed",
                   "turns": 0, "summary": None, "created_at": "2026-11-30T12:02:00Z",
                   "updated_at": "2026-11-30T12:02:00Z", "closed_at": "2026-11-30T13:02:00Z"}


async def test_a_session_is_shown_with_its_turns_and_hidden_from_other_tenants(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,
) -> None:
    tenant, other = await make_tenant(agents=("ada",)), await make_tenant(agents=("ada",))
    call = {"name": "slack_post_message", "arguments": {"channel": "C1", "text": "on it"},
            "result": "posted", "is_error": False}
    turns = [
        {"messages": [{"event_id": 11, "author": "U1", "text": "logs please",
                       "at": "2026-11-30T12:00:01+00:00"}],
         "answer": "here they are", "tool_calls": [call]},
        {"messages": [{"event_id": 12, "author": "U1", "text": "and yesterday's?",
                       "at": "2026-11-30T12:00:05+00:00"},
                      {"event_id": None, "author": None, "text": "(queued while paused)",
                       "at": "2026-11-30T12:00:06+00:00"}],
         "status": "running"},
    ]
    session = await seed(tenant, "ada", "slack:C1:1.1", "running", turns=turns)
    r = await http.get(f"/admin/tenants/{tenant}/sessions/{session}", headers=admin)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["status"], shown["turns"], shown["summary"]) == (
        "running", 2, "earlier: asked for the logs")
    first, second = shown["history"]
    assert (first["turn"], first["status"], first["answer"]) == (1, "done", "here they are")
    assert first["tool_calls"] == [call]
    assert first["messages"] == [{"event_id": 11, "author": "U1", "text": "logs please",
                                  "at": "2026-11-30T12:00:01Z"}]
    assert first["started_at"] == "2026-11-30T12:00:01Z"
    assert first["finished_at"] == "2026-11-30T12:00:02Z"
    assert (second["status"], second["answer"], second["finished_at"]) == ("running", None, None)
    assert [m["text"] for m in second["messages"]] == ["and yesterday's?",
                                                        "(queued while paused)"]

    # Another tenant's admin, and the super-admin under another tenant, find nothing.
    stranger = await _user(http, admin, other, "admin")
    for who, path_tenant in ((stranger, other), (admin, other), (stranger, tenant)):
        r = await http.get(f"/admin/tenants/{path_tenant}/sessions/{session}", headers=who)
        assert r.status_code == 404, r.text
        r = await http.post(f"/admin/tenants/{path_tenant}/sessions/{session}/close",
                            headers=who)
        assert r.status_code == 404, r.text
    r = await http.get(f"/admin/tenants/{other}/sessions", headers=stranger)
    assert r.json() == []
    r = await http.get(f"/admin/tenants/{tenant}/sessions/ses_0000000000000000", headers=admin)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_session")


async def test_pause_resume_close_signal_the_workflow_and_refuse_what_cannot_be(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,
    temporal_client: Client, pool: asyncpg.Pool,
) -> None:
    tenant = await make_tenant(agents=("ada",))
    workflow_id = f"session/{tenant}/ada/slack:C9:{uuid.uuid4().hex[:6]}"
    await _workflow(temporal_client, workflow_id)
    session = await seed(tenant, "ada", "slack:C9:1.1", "waiting", workflow_id=workflow_id)
    base = f"/admin/tenants/{tenant}/sessions/{session}"

    r = await http.post(f"{base}/resume", headers=admin)  # waiting, not paused
    assert (r.status_code, r.json()["error"]) == (409, "not_paused")
    r = await http.post(f"{base}/pause", headers=admin)
    assert r.status_code == 202, r.text
    assert (r.json()["requested"], r.json()["id"], r.json()["status"]) == (
        "pause", session, "waiting")  # as stored: the workflow applies it next
    assert await _signals(temporal_client, workflow_id) == ["pause"]

    # What the workflow records once paused (its store's write, done here by hand).
    await pool.execute("UPDATE sessions SET status = 'paused' WHERE id = $1", session)
    r = await http.post(f"{base}/pause", headers=admin)
    assert (r.status_code, r.json()["error"]) == (409, "already_paused")
    r = await http.post(f"{base}/resume", headers=admin)
    assert (r.status_code, r.json()["requested"]) == (202, "resume")
    r = await http.post(f"{base}/close", headers=admin)
    assert (r.status_code, r.json()["requested"]) == (202, "close")
    assert await _signals(temporal_client, workflow_id) == ["pause", "resume", "close"]

    await pool.execute("UPDATE sessions SET status = 'closed', closed_at = now() WHERE id = $1",
                       session)
    for action in ("close", "pause", "resume"):
        r = await http.post(f"{base}/{action}", headers=admin)
        assert (r.status_code, r.json()["error"]) == (409, "session_closed"), action
    assert await _signals(temporal_client, workflow_id) == ["pause", "resume", "close"]

    # The row says waiting but its workflow is gone (ended, or never started): nothing to ask.
    stale = await seed(tenant, "ada", "slack:C9:2.2", "waiting",
                       workflow_id=f"session/{tenant}/ada/gone-{uuid.uuid4().hex[:6]}")
    r = await http.post(f"/admin/tenants/{tenant}/sessions/{stale}/close", headers=admin)
    assert (r.status_code, r.json()["error"]) == (409, "session_ended")
    r = await http.post(f"{base}/restart", headers=admin)
    assert r.status_code in (404, 405)


async def test_viewers_read_admins_write_and_the_actions_are_audited(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,
    temporal_client: Client,
) -> None:
    tenant = await make_tenant(agents=("ada",))
    workflow_id = f"session/{tenant}/ada/slack:C8:{uuid.uuid4().hex[:6]}"
    await _workflow(temporal_client, workflow_id)
    session = await seed(tenant, "ada", "slack:C8:1.1", workflow_id=workflow_id)
    base = f"/admin/tenants/{tenant}/sessions"
    viewer = await _user(http, admin, tenant, "viewer")
    operator = await _user(http, admin, tenant, "operator")
    tenant_admin = await _user(http, admin, tenant, "admin")
    assert (await http.get(base, headers=viewer)).json()[0]["id"] == session
    assert (await http.get(f"{base}/{session}", headers=viewer)).status_code == 200
    for who in (viewer, operator):
        r = await http.post(f"{base}/{session}/pause", headers=who)
        assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = await http.post(f"{base}/{session}/pause", headers=tenant_admin)
    assert r.status_code == 202, r.text
    r = await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                       params={"log": "admin", "action": "session.pause"})
    assert r.status_code == 200, r.text
    seen = sorted((e["actor"].split("-")[1], e["outcome"], e["target"]) for e in r.json())
    assert seen == [("admin", "ok", session), ("operator", "refused:403", session),
                    ("viewer", "refused:403", session)], r.json()
    assert await _signals(temporal_client, workflow_id) == ["pause"]


async def test_temporal_unreachable_is_a_503_with_retry_after_and_nothing_changes(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,
    settings: Any,
) -> None:
    tenant = await make_tenant(agents=("ada",))
    session = await seed(tenant, "ada", "slack:C7:1.1")
    cut_off = settings.model_copy(update={"temporal": settings.temporal.model_copy(
        update={"address": f"127.0.0.1:{free_port()}"})})
    async with api_server(cut_off, run_relay=False) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as lonely:
        r = await lonely.post(f"/admin/tenants/{tenant}/sessions/{session}/pause",
                              headers=admin)
        assert (r.status_code, r.json()["error"]) == (503, "temporal_unavailable"), r.text
        assert int(r.headers["Retry-After"]) > 0
        r = await lonely.get(f"/admin/tenants/{tenant}/sessions/{session}", headers=admin)
        assert (r.status_code, r.json()["status"]) == (200, "waiting")


async def _status_becomes(http: httpx.AsyncClient, admin: dict[str, str], path: str,
                          status: str, within: float = 20) -> dict[str, Any]:
    """Poll the session through the API until its row shows ``status``."""
    async with asyncio.timeout(within):
        while True:
            shown: dict[str, Any] = (await http.get(path, headers=admin)).json()
            if shown["status"] == status:
                return shown
            await asyncio.sleep(0.02)


async def test_a_slack_thread_session_is_listed_shown_paused_resumed_and_closed(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant)
    brain = HeldAgent(agent)
    base = f"/admin/tenants/{tenant}/sessions"
    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        first = await post_slack(http, tenant, "please fix the login page", ROOT)
        one = await wait_status(http, admin, tenant, first, {"dispatched"}, 1)
        [listed] = (await http.get(base, headers=admin, params={"agent": agent})).json()
        path = f"{base}/{listed['id']}"
        shown = await _status_becomes(http, admin, path, "waiting")
        assert (shown["thread"], shown["turns"]) == (f"slack:C1:{ROOT}", 1)
        [turn] = shown["history"]
        assert [m["text"] for m in turn["messages"]] == ["please fix the login page"]
        assert (turn["status"], turn["answer"]) == ("done", one["outcomes"][0]["final"])
        assert [s["id"] for s in (await http.get(base, headers=admin, params={
            "thread": f"slack:C1:{ROOT}", "status": "waiting"})).json()] == [listed["id"]]

        r = await http.post(f"{path}/pause", headers=admin)
        assert (r.status_code, r.json()["requested"]) == (202, "pause"), r.text
        asked = time.monotonic()
        await _status_becomes(http, admin, path, "paused")
        print(f"pause applied in the row {1000 * (time.monotonic() - asked):.0f} ms after 202")
        second = await post_slack(http, tenant, "and also fix the tests", "1700000001.000200",
                                  ROOT)
        await asyncio.sleep(1.0)  # paused: the message waits, no turn runs
        assert len(brain.seen) == 1
        assert (await http.get(path, headers=admin)).json()["turns"] == 1

        r = await http.post(f"{path}/resume", headers=admin)
        assert (r.status_code, r.json()["status"]) == (202, "paused"), r.text
        two = await wait_status(http, admin, tenant, second, {"dispatched"}, 1)
        shown = await _status_becomes(http, admin, path, "waiting")
        assert shown["turns"] == 2
        assert [t["answer"] for t in shown["history"]] == [
            one["outcomes"][0]["final"], two["outcomes"][0]["final"]]
        assert shown["history"][1]["messages"][0]["text"] == "and also fix the tests"

        r = await http.post(f"{path}/close", headers=admin)
        assert (r.status_code, r.json()["requested"]) == (202, "close"), r.text
        closed = await _status_becomes(http, admin, path, "closed")
        assert closed["closed_at"] is not None
        r = await http.post(f"{path}/close", headers=admin)
        assert (r.status_code, r.json()["error"]) == (409, "session_closed")

    # In the Temporal UI: found by its session id, with the status it ended in and a summary.
    query = f'SwitchboardSession = "{listed["id"]}" AND SwitchboardStatus = "closed"'
    async with asyncio.timeout(20):
        while not [w async for w in temporal_client.list_workflows(query)]:
            await asyncio.sleep(0.2)
    [found] = [w async for w in temporal_client.list_workflows(query)]
    assert found.id == listed["workflow_id"]
    described = await temporal_client.get_workflow_handle(found.id).describe()
    assert await described.static_summary() == f"Session of {agent} on slack:C1:{ROOT}"
