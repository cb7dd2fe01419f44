"""Sockets obey their token: revoked, expired or paused, a working socket is closed at once.

An agent socket that accepted work is closed (in every API process) when its token is revoked,
its agent's tokens are revoked, its agent is paused, or its token expires; the think it held is
retried by Temporal on another worker of the agent, and completes there exactly once. A paused
agent gets no token, no gateway call and no socket.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from temporalio.client import Client
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.agent_protocol import CloseCode
from infra.auth.tokens import TokenService, refused
from infra.crypto import Sealer
from infra.directory.closes import SocketClose, Why
from infra.settings import Settings
from tests import corpus
from tests.admin import agent_token, bearer
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_governance import second_api  # noqa: F401  (a fixture)
from tests.test_pipeline import wait_status
from workers.agent import agent_worker

CLOSE_BOUND = 5.0  # generous on a loaded 2-core machine; the figure itself is printed
EXPIRING_TTL = 8  # seconds: long enough to receive a think first


async def connect(api_url: str, token: str, accept_work: bool = True
                  ) -> websockets.ClientConnection:
    """An agent socket, welcomed, asking for work."""
    ws = await websockets.connect(api_url.replace("http://", "ws://") + "/agents/ws",
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "welcome"
    if accept_work:
        await ws.send(json.dumps({"type": "hello", "accept_work": True}))
    return ws


async def closed_with(ws: websockets.ClientConnection, within: float = 30) -> int | None:
    """The code the server closes the socket with (None if it stays open ``within`` s)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


Trigger = Callable[[str, str, str], Awaitable[None]]


@pytest.fixture
def triggers(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Trigger]:
    """What closes a socket, by name: each takes (tenant, agent, the socket's token)."""

    async def revoke_token(tenant: str, agent: str, token: str) -> None:
        r = await http.post("/oauth/revoke", headers=bearer(token))
        assert r.status_code == 200, r.text

    async def revoke_agent_tokens(tenant: str, agent: str, token: str) -> None:
        r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/revoke-tokens",
                            headers=admin)
        assert r.status_code == 204, r.text

    async def pause(tenant: str, agent: str, token: str) -> None:
        r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                             json={"status": "paused"})
        assert r.json()["status"] == "paused", r.text

    return {"revoke_token": revoke_token, "revoke_agent_tokens": revoke_agent_tokens,
            "pause": pause}


async def _think_out_on(ws: websockets.ClientConnection, http: httpx.AsyncClient,
                        tenant: str) -> int:
    """Post an event; the socket receives its think (left unanswered). The inbox id."""
    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    async with asyncio.timeout(30):
        while (task := json.loads(await ws.recv()))["type"] != "think":
            pass
    assert task["input"]["event"]["tenant_id"] == tenant
    return int(r.json()["inbox_id"])


async def _completed_elsewhere_once(http: httpx.AsyncClient, admin: dict[str, str],
                                    tenant: str, inbox_id: int, other: RecordingAgent) -> None:
    event = await wait_status(http, admin, tenant, inbox_id, {"dispatched"}, 1, within=60)
    [outcome] = event["outcomes"]
    assert outcome["status"] == "answered", outcome
    await asyncio.sleep(2)  # a second delivery of the same think would arrive meanwhile
    assert len(other.seen) == 1


@pytest.mark.parametrize(("trigger", "code"), [
    ("revoke_token", CloseCode.TOKEN_REVOKED),
    ("revoke_agent_tokens", CloseCode.TOKEN_REVOKED),
    ("pause", CloseCode.AGENT_PAUSED),
])
async def test_a_working_socket_is_closed_when_its_token_or_agent_is_cut_off(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, triggers: dict[str, Trigger], trigger: str, code: int,
) -> None:
    agent = f"cut-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    token = await agent_token(http, admin, tenant, agent)
    other = RecordingAgent(agent)
    async with await connect(api_url, token) as ws:
        inbox_id = await _think_out_on(ws, http, tenant)
        async with running(agent_worker(temporal_client, tenant, agent, other.think)):
            started = time.monotonic()
            await triggers[trigger](tenant, agent, token)
            assert await closed_with(ws, CLOSE_BOUND) == code
            print(f"{trigger}: socket closed {(time.monotonic() - started) * 1000:.0f} ms"
                  " after the request was sent")
            await _completed_elsewhere_once(http, admin, tenant, inbox_id, other)


async def test_a_working_socket_is_closed_when_its_token_expires(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, pool: asyncpg.Pool, settings: Settings,
) -> None:
    agent = f"brief-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    short = TokenService(pool, Sealer(settings.master_key_bytes()), ttl_seconds=EXPIRING_TTL)
    token, _ = await short.issue(tenant, agent, ["agent", "gateway"])
    expires_at = time.time() // 1 + EXPIRING_TTL  # exp is the issuing second plus the TTL
    other = RecordingAgent(agent)
    async with await connect(api_url, token) as ws:
        inbox_id = await _think_out_on(ws, http, tenant)
        assert time.time() < expires_at, "the think came after the token expired: raise the TTL"
        async with running(agent_worker(temporal_client, tenant, agent, other.think)):
            assert await closed_with(ws, EXPIRING_TTL + CLOSE_BOUND) == CloseCode.TOKEN_EXPIRED
            late = time.time() - expires_at
            print(f"expiry: socket closed {late * 1000:.0f} ms after the token's exp")
            assert -0.5 < late < CLOSE_BOUND
            await _completed_elsewhere_once(http, admin, tenant, inbox_id, other)


async def test_every_api_process_closes_the_agents_sockets(
    api_url: str, second_api: str, http: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    agent = f"twice-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    first = await agent_token(http, admin, tenant, agent)
    sockets = [await connect(api_url, first), await connect(second_api, first),
               await connect(second_api, await agent_token(http, admin, tenant, agent),
                             accept_work=False)]
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/revoke-tokens", headers=admin)
    assert r.status_code == 204
    codes = await asyncio.gather(*(closed_with(ws, CLOSE_BOUND) for ws in sockets))
    assert codes == [CloseCode.TOKEN_REVOKED] * 3

    # One token revoked closes only that token's sockets, in each process.
    kept = await agent_token(http, admin, tenant, agent)
    dropped = await agent_token(http, admin, tenant, agent)
    ws_kept = await connect(second_api, kept)
    ws_dropped = [await connect(api_url, dropped),
                  await connect(second_api, dropped, accept_work=False)]
    r = await http.post("/oauth/revoke", headers=bearer(dropped))
    assert r.status_code == 200
    codes = await asyncio.gather(*(closed_with(ws, CLOSE_BOUND) for ws in ws_dropped))
    assert codes == [CloseCode.TOKEN_REVOKED] * 2
    await ws_kept.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws_kept.recv(), 5)) == {"type": "pong"}
    await ws_kept.close()


async def test_a_second_working_socket_of_an_agent_in_one_process_is_told_and_stays_open(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    agent = f"dual-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    token = await agent_token(http, admin, tenant, agent)
    async with await connect(api_url, token) as working, \
            await connect(api_url, token) as spare:
        reply = json.loads(await asyncio.wait_for(spare.recv(), 5))
        assert reply["type"] == "error" and "another socket" in reply["detail"], reply
        for ws in (working, spare):
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


async def test_a_paused_agent_gets_no_token_no_gateway_call_and_no_socket(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    agent = f"held-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    token = await agent_token(http, admin, tenant, agent)
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials",
                             headers=admin)).json()
    grant = {"grant_type": "client_credentials", "client_id": creds["client_id"],
             "client_secret": creds["client_secret"]}
    await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                     json={"status": "paused"})

    r = await http.post("/oauth/token", data=grant)
    assert (r.status_code, r.json().get("error")) == (400, "unauthorized_client"), r.text
    assert "paused" in r.json()["error_description"]
    wrong = await http.post("/oauth/token", data={**grant, "client_secret": "nope"})
    assert wrong.status_code == 401  # a wrong secret learns nothing about the agent
    calls: dict[str, Any] = {
        "/gateway/execute": {"intent": "slack_post_message",
                             "args": {"channel": "C1", "text": "still here"}},
        "/context/search": {"query": "anything"},
    }
    for path, body in calls.items():
        r = await http.post(path, json=body,
                            headers={**bearer(token), "Idempotency-Key": str(uuid.uuid4())})
        assert (r.status_code, r.json()["error"]) == (403, "agent_paused"), (path, r.text)
    ws = await websockets.connect(api_url.replace("http://", "ws://") + "/agents/ws",
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert await closed_with(ws, CLOSE_BOUND) == CloseCode.AGENT_PAUSED

    await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                     json={"status": "active"})
    assert (await http.post("/oauth/token", data=grant)).status_code == 200
    async with await connect(api_url, token, accept_work=False) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


async def test_after_a_lost_listen_one_query_says_which_open_sockets_must_go(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool, settings: Settings,
) -> None:
    agents = [f"gone-{i}-{uuid.uuid4().hex[:4]}" for i in range(4)]
    tenant = await make_tenant(agents=tuple(agents))
    service = TokenService(pool, Sealer(settings.master_key_bytes()), ttl_seconds=600)
    held = [await service.verify((await service.issue(tenant, a, ["agent"]))[0])
            for a in agents]
    await service.revoke(held[0])
    await http.post(f"/admin/tenants/{tenant}/agents/{agents[1]}/revoke-tokens", headers=admin)
    await http.patch(f"/admin/tenants/{tenant}/agents/{agents[2]}", headers=admin,
                     json={"status": "paused"})
    assert await refused(pool, held) == [Why.TOKEN_REVOKED, Why.TOKENS_REVOKED, Why.PAUSED, None]
    assert await refused(pool, []) == []


@pytest.mark.parametrize("close", [
    SocketClose(Why.STUCK, "acme", "coder"), SocketClose(Why.PAUSED, "acme", "co.der-1"),
    SocketClose(Why.TOKENS_REVOKED), SocketClose(Why.TOKEN_REVOKED, token_id="ab12"),
])
def test_a_close_reads_back_as_itself(close: SocketClose) -> None:
    assert SocketClose.parse(close.payload()) == close


def test_close_payloads_match_the_sockets_they_name() -> None:
    assert SocketClose.parse("close:acme/coder") == SocketClose(Why.STUCK, "acme", "coder")
    for bad in ("close:acme", "close:/coder", "close:acme/coder why", "close-token:", "stopped"):
        assert SocketClose.parse(bad) is None, bad
    agent = SocketClose(Why.PAUSED, "acme", "coder")
    assert agent.matches("acme", "coder", "j1") and not agent.matches("beta", "coder", "j1")
    token = SocketClose(Why.TOKEN_REVOKED, token_id="j1")
    assert token.matches("acme", "coder", "j1") and not token.matches("acme", "coder", "j2")
    assert SocketClose(Why.TOKENS_REVOKED).matches("beta", "anyone", "j9")
