"""Governance end to end: agent socket auth, presence, the circuit breaker, the kill switch."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from infra.auth.tokens import TokenService
from infra.crypto import Sealer
from infra.governance import presence
from infra.settings import AgentSettings, Settings, TemporalSettings
from tests import corpus
from tests.admin import agent_token, bearer, grant, slack_channel, store_secret
from tests.conftest import Platform, Remotes, TenantFactory
from tests.harness import api_server, free_port, payload_env, running
from tests.test_pipeline import wait_status
from workers.agent import runtime_worker
from workers.runtime import ScriptedLLM, build_runtime
from workflows.contracts import ControlState, StopAll
from workflows.control import ControlWorkflow
from workflows.ids import CONTROL_WORKFLOW_ID

SWITCHBOARD = Path(sys.executable).parent / "switchboard"


def ws_url(base: str, tenant: str | None = None) -> str:
    """The agent socket URL of an API base URL."""
    return base.replace("http://", "ws://") + "/agents/ws" + (f"?tenant={tenant}" if tenant else "")


async def close_code(url: str, **kwargs: object) -> int | None:
    """Connect and return the close code the server sends (None if it stays open)."""
    try:
        async with websockets.connect(url, open_timeout=5, **kwargs) as ws:  # type: ignore[arg-type]
            try:
                await asyncio.wait_for(ws.recv(), 3)  # welcome, if accepted
                await asyncio.wait_for(ws.recv(), 1)
            except TimeoutError:
                return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except InvalidStatus as refused:
        return refused.response.status_code
    return None


async def test_socket_refuses_missing_bad_expired_revoked_and_foreign_tokens(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool, settings: Settings,
) -> None:
    agent = f"ws-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    other = await make_tenant()
    good = await agent_token(http, admin, tenant, agent)
    bearer = {"additional_headers": {"Authorization": f"Bearer {good}"}}
    assert await close_code(ws_url(api_url), **bearer) is None  # accepted, stays open
    assert await close_code(ws_url(api_url, tenant), subprotocols=["bearer", good]) is None
    assert await close_code(ws_url(api_url)) == 4401
    assert await close_code(ws_url(api_url),
                            additional_headers={"Authorization": "Bearer nope.nope.nope"}) == 4401
    assert await close_code(ws_url(api_url, other), **bearer) == 4403
    short = TokenService(pool, Sealer(settings.master_key_bytes()), ttl_seconds=1)
    expiring, _ = await short.issue(tenant, agent, ["agent", "gateway"])
    await asyncio.sleep(2.1)
    assert await close_code(ws_url(api_url),
                            additional_headers={"Authorization": f"Bearer {expiring}"}) == 4401
    await http.post(f"/admin/tenants/{tenant}/agents/{agent}/revoke-tokens", headers=admin)
    assert await close_code(ws_url(api_url), **bearer) == 4401


async def test_silent_agent_goes_offline_leaves_routing_is_alerted_and_comes_back(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, settings: Settings, remotes: Remotes,
) -> None:
    quiet, backup = f"quiet-{uuid.uuid4().hex[:6]}", f"backup-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(quiet, backup), default_agents=(quiet, backup))
    channel = f"CADM{uuid.uuid4().hex[:6].upper()}"
    remotes.slack.channels.add(channel)
    await http.patch(f"/admin/tenants/{tenant}", headers=admin, json={"admin_channel": channel})
    await store_secret(http, admin, tenant, "slack_bot_token")
    queue = settings.temporal.task_queue
    await presence.heartbeat(temporal_client, queue, tenant, quiet, interval_seconds=0.5)

    async def status() -> str:
        agents = (await http.get(f"/admin/tenants/{tenant}/agents", headers=admin)).json()
        return str(next(a["status"] for a in agents if a["id"] == quiet))

    async with asyncio.timeout(15):  # 3 missed beats of 0.5 s
        while await status() != "offline":
            await asyncio.sleep(0.2)
    # The presence workflow marks the agent offline, then raises the alert: wait for it.
    async with asyncio.timeout(10):
        while not (alerts := (await http.get(f"/admin/tenants/{tenant}/alerts",
                                             headers=admin)).json()):
            await asyncio.sleep(0.1)
    assert [a["kind"] for a in alerts] == ["agent_offline"]
    async with asyncio.timeout(10):
        while not [m for m in remotes.slack.messages if m["channel"] == channel]:
            await asyncio.sleep(0.1)
    [posted] = [m for m in remotes.slack.messages if m["channel"] == channel]
    assert quiet in posted["text"] and "offline" in posted["text"]

    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"})
    assert event["agent_ids"] == [backup] and quiet in str(event["reason"])

    await presence.heartbeat(temporal_client, queue, tenant, quiet, interval_seconds=0.5)
    async with asyncio.timeout(10):
        while await status() != "active":
            await asyncio.sleep(0.1)


async def test_breaker_refuses_the_11th_message_and_pauses_a_stuck_agent(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    remotes: Remotes,
) -> None:
    agent = f"chatty-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent)
    auth = bearer(await agent_token(http, admin, tenant, agent))

    async def post(text: str) -> httpx.Response:
        return await http.post("/gateway/execute", headers={
            **auth, "Idempotency-Key": str(uuid.uuid4())}, json={
            "intent": "slack_post_message", "args": {"channel": channel, "text": text}})

    assert [(await post(f"update {i}")).status_code for i in range(10)] == [200] * 10
    eleventh = await post("update 10")
    assert eleventh.status_code == 429
    assert "limit 10 per minute" in eleventh.json()["detail"]
    assert 1 <= int(eleventh.headers["Retry-After"]) <= 61
    assert len([m for m in remotes.slack.messages if m["channel"] == channel]) == 10

    looper = f"looper-{uuid.uuid4().hex[:6]}"
    await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                    json={"id": looper, "name": looper})
    await grant(http, admin, tenant, looper, "slack_post_message")
    token = await agent_token(http, admin, tenant, looper)
    protocols = [Subprotocol("bearer"), Subprotocol(token)]
    async with websockets.connect(ws_url(api_url), subprotocols=protocols) as ws:
        await ws.recv()  # welcome
        replies: list[dict[str, object]] = []
        with pytest.raises(ConnectionClosed) as closed:  # the stuck agent's socket is closed
            for i in range(2):
                await ws.send(json.dumps({
                    "type": "gateway", "id": i, "intent": "slack_post_message",
                    "idempotency_key": f"loop-{uuid.uuid4()}",
                    "args": {"channel": channel, "text": "I am stuck"}}))
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
        assert replies[0]["error"] is None
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel][-1:] == [
        "I am stuck"]
    assert len([m for m in remotes.slack.messages if m["text"] == "I am stuck"
                and m["channel"] == channel]) == 1
    agents = (await http.get(f"/admin/tenants/{tenant}/agents", headers=admin)).json()
    assert next(a["status"] for a in agents if a["id"] == looper) == "paused"
    alerts = (await http.get(f"/admin/tenants/{tenant}/alerts", headers=admin)).json()
    assert [a["kind"] for a in alerts] == ["stuck_agent"]


@pytest.fixture
def second_api(settings: Settings) -> Iterator[str]:
    """Another API process (``switchboard api``) on the same database and Temporal."""
    port = free_port()
    assert settings.admin_token is not None and settings.master_key is not None
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
           "DATABASE_URL": str(settings.database.url),
           "TEMPORAL_ADDRESS": settings.temporal.address,
           "TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
           "SWITCHBOARD_ADMIN_TOKEN": settings.admin_token.get_secret_value(),
           "SWITCHBOARD_MASTER_KEY": settings.master_key.get_secret_value(),
           "SWITCHBOARD_DEV_MODE": "true", "SWITCHBOARD_LOG_LEVEL": "WARNING", **payload_env()}
    proc = subprocess.Popen([str(SWITCHBOARD), "api", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=3).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def kill_switch_off(http: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[None]:
    """Whatever a test does, leave the switch off for the next one."""
    yield
    await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
    async with asyncio.timeout(10):
        while (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"]:
            await asyncio.sleep(0.1)


async def test_kill_switch_severs_50_sockets_on_2_api_processes_and_holds_slack_calls(
    tmp_path: Path, api_url: str, second_api: str, http: httpx.AsyncClient,
    admin: dict[str, str], make_tenant: TenantFactory, temporal_client: Client,
    remotes: Remotes, kill_switch_off: None,
) -> None:
    agents = [f"swarm-{uuid.uuid4().hex[:6]}" for _ in range(50)]
    poster = f"poster-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(*agents, poster), default_agents=(poster,))
    # 50 tokens in a few seconds: a swarm this size is on the team plan (200 requests a minute).
    r = await http.put(f"/admin/tenants/{tenant}/quota", headers=admin, json={"plan": "team"})
    assert r.status_code == 200, r.text
    channel = await slack_channel(http, admin, remotes, tenant, poster)
    tokens = await asyncio.gather(*(agent_token(http, admin, tenant, a) for a in agents))
    sockets = [await websockets.connect(ws_url(api_url if i % 2 else second_api),
                                        subprotocols=[Subprotocol("bearer"), Subprotocol(t)])
               for i, t in enumerate(tokens)]
    for ws in sockets:
        assert json.loads(await ws.recv())["type"] == "welcome"
    llm = ScriptedLLM([
        {"tool_calls": [{"name": "slack_post_message",
                         "arguments": {"channel": channel, "text": "deploy finished"}}],
         "delay_seconds": 2},
        {"content": "announced"},
    ])
    async with build_runtime(AgentSettings(), poster, llm=llm) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        await asyncio.sleep(1.0)  # the poster is thinking; its Slack call comes after the stop

        # Timed where the world sees them: each close as it arrives, the token polled from the
        # POST on (the answer itself also waits, up to 1 s, for the control workflow's record).
        started = time.monotonic()
        closing = [asyncio.create_task(_closed_at(ws)) for ws in sockets]
        refusing = asyncio.create_task(_refused_at(http, tokens[0]))
        r = await http.post("/admin/kill-switch", headers=admin,
                            json={"action": "stop_all", "reason": "runaway swarm"})
        assert r.status_code == 200
        gateway = await http.get("/gateway/catalog",
                                 headers={"Authorization": f"Bearer {tokens[0]}"})
        assert gateway.status_code == 401  # true when answered
        closes = await asyncio.gather(*closing)
        severed = max(at for _, at in closes) - started
        refused = await refusing - started
        assert [code for code, _ in closes] == [4001] * 50
        assert severed < 1.0 and refused < 1.0, (severed, refused)
        print(f"kill switch: 50 sockets on 2 processes closed in {severed * 1000:.0f} ms")
        creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agents[0]}/credentials",
                                 headers=admin)).json()
        r = await http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]})
        assert r.status_code == 503  # no new tokens while stopped

        await asyncio.sleep(3)  # the think finished meanwhile: its Slack call is held
        assert not [m for m in remotes.slack.messages if m["channel"] == channel]
        await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
        event = await wait_status(http, admin, tenant, await _event_id(http, admin, tenant),
                                  {"dispatched"}, 1, within=30)
    assert event["outcomes"][0]["final"] == "announced"
    delivered = [m["text"] for m in remotes.slack.messages if m["channel"] == channel]
    assert delivered == ["deploy finished"]


async def _closed_at(ws: websockets.ClientConnection) -> tuple[int | None, float]:
    """The close code the server sent, and when it arrived (monotonic)."""
    code = await _closed(ws)
    return code, time.monotonic()


async def _refused_at(http: httpx.AsyncClient, token: str) -> float:
    """When (monotonic) a gateway call with ``token`` was first refused; polled for 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = await http.get("/gateway/catalog", headers={"Authorization": f"Bearer {token}"})
        if r.status_code == 401:
            return time.monotonic()
        await asyncio.sleep(0.02)
    return float("inf")


async def _closed(ws: websockets.ClientConnection) -> int | None:
    try:
        await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    return None


async def _event_id(http: httpx.AsyncClient, admin: dict[str, str], tenant: str) -> int:
    events = (await http.get(f"/admin/tenants/{tenant}/events", headers=admin)).json()
    return int(events[0]["id"])


async def test_limits_are_per_tenant_and_take_effect_at_once(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    agent = f"terse-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    r = await http.put(f"/admin/tenants/{tenant}/limits", headers=admin,
                       json={"messages_per_minute": 2})
    assert r.json()["messages_per_minute"] == 2 and r.json()["duplicate_window_seconds"] == 10
    channel = await slack_channel(http, admin, remotes, tenant, agent)
    auth = bearer(await agent_token(http, admin, tenant, agent))
    codes = [(await http.post("/gateway/execute", headers={
        **auth, "Idempotency-Key": str(uuid.uuid4())}, json={
        "intent": "slack_post_message", "args": {"channel": channel, "text": f"note {i}"}})
    ).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert (await http.put("/admin/tenants/no-such/limits", headers=admin,
                           json={"messages_per_minute": 5})).status_code == 404


BACKLOG = 200  # webhooks in flight when the stop is asked


async def _post_backlog(http: httpx.AsyncClient, tenant: str, count: int) -> None:
    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    pending = iter(range(count))

    async def sender() -> None:
        for _ in pending:
            r = await http.post(f"/webhooks/github/{tenant}", content=raw,
                                headers=headers | {"X-GitHub-Delivery": str(uuid.uuid4())})
            assert r.status_code == 202, r.text

    await asyncio.gather(*(sender() for _ in range(8)))


async def test_stop_under_a_backlog_after_a_worker_restart_is_applied_when_answered(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    platform: Platform, kill_switch_off: None,
) -> None:
    agent = f"busy-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials",
                             headers=admin)).json()
    grant = {"grant_type": "client_credentials", "client_id": creds["client_id"],
             "client_secret": creds["client_secret"]}
    token = (await http.post("/oauth/token", data=grant)).json()["access_token"]
    ws = await websockets.connect(ws_url(api_url),
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert json.loads(await ws.recv())["type"] == "welcome"
    await platform.restart()  # the control workflow's last worker (and sticky queue) is gone
    await _post_backlog(http, tenant, BACKLOG)

    r = await http.post("/admin/kill-switch", headers=admin,
                        json={"action": "stop_all", "reason": "backlog"})
    assert r.status_code == 200, r.text
    assert r.json()["stopped"] is True and r.json()["reason"] == "backlog"
    # The answer is true of the world when it is given: no token is issued after it, the
    # agent's token is refused, and its socket is closed (the close frame is on its way).
    assert (await http.post("/oauth/token", data=grant)).status_code == 503
    catalog = await http.get("/gateway/catalog", headers={"Authorization": f"Bearer {token}"})
    assert catalog.status_code == 401
    assert await _closed(ws) == 4001


async def test_kill_switch_answers_with_what_is_applied_and_status_shows_it(
    http: httpx.AsyncClient, admin: dict[str, str], temporal_client: Client,
    kill_switch_off: None,
) -> None:
    r = await http.post("/admin/kill-switch", headers=admin, json={"action": "stop_all"})
    stop = r.json()
    assert (stop["stopped"], stop["reason"]) == (True, "stopped by an admin")
    assert (await http.get("/admin/kill-switch", headers=admin)).json() == {
        "stopped": True, "reason": "stopped by an admin", "version": stop["version"]}
    r = await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
    # recorded: whether the control workflow took it within 1 s (false on a starved machine)
    assert r.json() | {"recorded": None} == {"stopped": False, "reason": None,
                                             "version": stop["version"] + 1, "recorded": None}
    assert (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"] is False
    # The control workflow (the Temporal UI's view) recorded it, and a late record of an older
    # change does not hide it.
    handle = temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID)
    shown = await _shown(handle, stop["version"] + 1)
    assert shown == ControlState(stopped=False, reason=None, changes=stop["version"] + 1)
    await handle.signal("applied", ControlState(stopped=True, reason="late",
                                                changes=stop["version"]))
    await _settled(handle)
    assert await handle.query("state", result_type=ControlState) == shown
    r = await http.post("/admin/kill-switch", headers=admin, json={"action": "pause"})
    assert r.status_code == 422 and r.json()["error"]


async def test_a_stop_stands_and_says_so_when_temporal_is_unreachable(
    settings: Settings, http: httpx.AsyncClient, admin: dict[str, str],
    make_tenant: TenantFactory, kill_switch_off: None,
) -> None:
    agent = f"cut-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    token = await agent_token(http, admin, tenant, agent)
    cut_off = settings.model_copy(update={"temporal": TemporalSettings(
        address=f"127.0.0.1:{free_port()}", task_queue=settings.temporal.task_queue,
        control_task_queue=settings.temporal.control_task_queue)})
    async with api_server(cut_off, run_relay=False) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as alone:
        started = time.monotonic()
        r = await alone.post("/admin/kill-switch", headers=admin,
                             json={"action": "stop_all", "reason": "no temporal"})
        answered = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert (r.json()["stopped"], r.json()["recorded"]) == (True, False)
    assert answered < 3.0, answered  # the record waits a second at most
    catalog = await http.get("/gateway/catalog", headers={"Authorization": f"Bearer {token}"})
    assert catalog.status_code == 401
    assert (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"] is True


async def test_a_stop_holds_platform_alerts_until_resume_and_posts_each_once(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, settings: Settings, remotes: Remotes, kill_switch_off: None,
) -> None:
    quiet = f"quiet-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(quiet,))
    channel = f"CADM{uuid.uuid4().hex[:6].upper()}"
    remotes.slack.channels.add(channel)
    await http.patch(f"/admin/tenants/{tenant}", headers=admin, json={"admin_channel": channel})
    await store_secret(http, admin, tenant, "slack_bot_token")

    def posted() -> list[str]:
        return [m["text"] for m in remotes.slack.messages if m["channel"] == channel]

    r = await http.post("/admin/kill-switch", headers=admin,
                        json={"action": "stop_all", "reason": "incident"})
    assert r.json()["stopped"] is True
    await presence.heartbeat(temporal_client, settings.temporal.task_queue, tenant, quiet,
                             interval_seconds=0.5)
    async with asyncio.timeout(15):  # 3 missed beats of 0.5 s: offline, alert recorded at once
        while not (await http.get(f"/admin/tenants/{tenant}/alerts", headers=admin)).json():
            await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # an unheld post goes out within milliseconds of the record
    assert posted() == []

    r = await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
    assert r.json()["stopped"] is False
    async with asyncio.timeout(15):
        while not posted():
            await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # retried attempts must not post it again
    [text] = posted()
    assert quiet in text and "offline" in text


async def test_switchboard_kill_prints_the_switch_as_applied(
    http: httpx.AsyncClient, admin: dict[str, str], settings: Settings, pool: asyncpg.Pool,
    temporal_client: Client, kill_switch_off: None,
) -> None:
    mine = ("SWITCHBOARD_", "TEMPORAL_", "DATABASE_")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(mine)},
           "TEMPORAL_ADDRESS": settings.temporal.address,
           "TEMPORAL_CONTROL_TASK_QUEUE": settings.temporal.control_task_queue,
           "SWITCHBOARD_DEV_MODE": "true", **payload_env()}

    def kill(*args: str, database: bool = False) -> str:
        extra = {"DATABASE_URL": str(settings.database.url)} if database else {}
        done = subprocess.run([str(SWITCHBOARD), "kill", *args], env=env | extra,
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.strip()

    # Without database settings: asked of the control workflow, which applies it.
    assert await asyncio.to_thread(kill, "--reason", "cli drill") == (
        "kill switch: STOPPED (cli drill)")
    applied = (await http.get("/admin/kill-switch", headers=admin)).json()
    assert (applied["stopped"], applied["reason"]) == (True, "cli drill")
    assert await asyncio.to_thread(kill, "--status") == "kill switch: STOPPED (cli drill)"
    assert await asyncio.to_thread(kill, "--resume") == "kill switch: off (agents running)"
    assert (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"] is False

    # With them: applied in the database directly, audited, and recorded in the workflow.
    assert await asyncio.to_thread(kill, "--reason", "direct drill", database=True) == (
        "kill switch: STOPPED (direct drill)")
    applied = (await http.get("/admin/kill-switch", headers=admin)).json()
    assert (applied["stopped"], applied["reason"]) == (True, "direct drill")
    assert await asyncio.to_thread(kill, "--status", database=True) == (
        "kill switch: STOPPED (direct drill)")
    shown = await _shown(temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID),
                         applied["version"])
    assert shown == ControlState(stopped=True, reason="direct drill", changes=applied["version"])
    audited = await pool.fetchval(
        "SELECT detail FROM activity_log WHERE actor = 'switchboard-cli'"
        " AND action = 'kill_switch.applied' ORDER BY id DESC LIMIT 1")
    assert audited | {"recorded": None} == {"stopped": True, "reason": "direct drill",
                                            "version": applied["version"], "recorded": None}
    assert await asyncio.to_thread(kill, "--resume", database=True) == (
        "kill switch: off (agents running)")
    assert (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"] is False


async def _shown(handle: WorkflowHandle[Any, Any], version: int) -> ControlState:
    """The control workflow's state once it shows ``version`` or later (a signal is in its
    history when the API answers ``recorded``, handled by the workflow task that follows)."""
    async with asyncio.timeout(10):
        while True:
            state: ControlState = await handle.query("state", result_type=ControlState)
            if state.changes >= version:
                return state
            await asyncio.sleep(0.05)


async def _settled(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until every signal in the current run's history was handled by a workflow task."""
    async with asyncio.timeout(10):
        while True:
            kinds = [e.event_type for e in (await handle.fetch_history()).events]
            done = [i for i, k in enumerate(kinds)
                    if k == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
            signals = [i for i, k in enumerate(kinds)
                       if k == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
            if done and done[-1] > max(signals, default=-1):
                return
            await asyncio.sleep(0.05)


CONTROL_HISTORY = Path(__file__).parent / "fixtures" / "histories" / "control_apply_activity.json"


async def test_the_control_run_stays_short_and_signals_still_flip_the_switch(
    http: httpx.AsyncClient, admin: dict[str, str], temporal_client: Client,
    kill_switch_off: None,
) -> None:
    for i in range(12):
        action = "stop_all" if i % 2 == 0 else "resume"
        r = await http.post("/admin/kill-switch", headers=admin,
                            json={"action": action, "reason": f"drill {i}"})
        assert r.json()["stopped"] is (action == "stop_all"), r.text
    # Every workflow task of the control worker (no cache) replays the current run: it must stay
    # a few dozen events however many changes there were, the switch carried across runs.
    handle = temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID)
    assert len((await handle.fetch_history()).events) <= 60
    applied = (await http.get("/admin/kill-switch", headers=admin)).json()
    assert applied["stopped"] is False
    assert (await _shown(handle, applied["version"])).changes == applied["version"]

    # From the Temporal UI: signal stop_all, query state.
    await handle.signal("stop_all", StopAll(reason="from the UI"))
    async with asyncio.timeout(10):
        while not (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"]:
            await asyncio.sleep(0.05)
    assert await _shown(handle, applied["version"] + 1) == ControlState(
        stopped=True, reason="from the UI", changes=applied["version"] + 1)
    await handle.signal("resume")
    async with asyncio.timeout(10):
        while (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"]:
            await asyncio.sleep(0.05)


async def test_a_control_run_begun_before_the_local_apply_replays_unchanged(
    temporal_client: Client,
) -> None:
    """A run recorded when each change was an activity task (before the local apply) still
    replays: a worker upgraded under a running control workflow keeps it."""
    history = WorkflowHistory.from_json(CONTROL_WORKFLOW_ID, CONTROL_HISTORY.read_text())
    assert any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
               for e in history.events)
    replayer = Replayer(workflows=[ControlWorkflow], data_converter=temporal_client.data_converter)
    await replayer.replay_workflow(history)


CONTROL_LOCAL_HISTORY = CONTROL_HISTORY.with_name("control_apply_local.json")


async def test_a_control_run_begun_before_versions_replays_unchanged(
    temporal_client: Client,
) -> None:
    """A run recorded when apply_control ran locally and returned nothing (before the database
    numbered the switch's versions; the workflow of commit 953d7ef's parent, two updates and two
    signals) still replays: the control workflow running at an upgrade keeps going."""
    history = WorkflowHistory.from_json(CONTROL_WORKFLOW_ID, CONTROL_LOCAL_HISTORY.read_text())
    assert sum(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in history.events) >= 4
    replayer = Replayer(workflows=[ControlWorkflow], data_converter=temporal_client.data_converter)
    await replayer.replay_workflow(history)


async def test_a_stop_is_applied_when_no_control_workflow_runs(
    http: httpx.AsyncClient, admin: dict[str, str], temporal_client: Client,
    kill_switch_off: None,
) -> None:
    """Someone terminated switchboard-control (Temporal UI): the next change starts it again."""
    await temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID).terminate(reason="drill")
    r = await http.post("/admin/kill-switch", headers=admin,
                        json={"action": "stop_all", "reason": "after terminate"})
    assert r.status_code == 200, r.text
    assert (r.json()["stopped"], r.json()["reason"]) == (True, "after terminate")
    shown = await _shown(temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID),
                         r.json()["version"])
    assert (shown.stopped, shown.changes) == (True, r.json()["version"])
    assert (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"] is True
