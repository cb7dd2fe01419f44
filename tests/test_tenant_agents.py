"""Agents are per tenant: two tenants each have a ``coder``, and nothing of one reaches the other.

Keys, task queues, sockets, the stuck-agent close, tokens and grants all carry the tenant.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from importlib import resources

import asyncpg
import httpx
import jwt
import pytest
import websockets
from temporalio.client import Client
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.agent_protocol import CloseCode
from infra import database
from infra.embedded import database_url
from infra.governance import StuckAgents
from tests.admin import agent_token, bearer, slack_channel
from tests.conftest import Remotes, TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_pipeline import wait_status
from tests.test_routing import slack_message
from workers.agent import agent_worker
from workflows.ids import agent_task_queue

CODER = "coder"


async def _two_tenants_with_coder(http: httpx.AsyncClient, admin: dict[str, str],
                                  make_tenant: TenantFactory) -> tuple[str, str]:
    a, b = await make_tenant(default_agents=(CODER,)), await make_tenant(default_agents=(CODER,))
    for tenant, role in ((a, "writes code for A"), (b, "writes code for B")):
        r = await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                            json={"id": CODER, "name": "Coder", "role": role})
        assert r.status_code == 201, r.text
        assert r.json()["tenant_id"] == tenant
    return a, b


async def test_two_tenants_each_create_coder_and_see_only_their_own(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    a, b = await _two_tenants_with_coder(http, admin, make_tenant)
    for tenant, role in ((a, "writes code for A"), (b, "writes code for B")):
        [agent] = (await http.get(f"/admin/tenants/{tenant}/agents", headers=admin)).json()
        assert (agent["id"], agent["tenant_id"], agent["role"]) == (CODER, tenant, role)
    again = await http.post(f"/admin/tenants/{a}/agents", headers=admin,
                            json={"id": CODER, "name": "Coder"})
    assert (again.status_code, again.json()["error"]) == (409, "agent_exists")

    r = await http.patch(f"/admin/tenants/{a}/agents/{CODER}", headers=admin,
                         json={"status": "paused"})
    assert r.json()["status"] == "paused"
    [b_coder] = (await http.get(f"/admin/tenants/{b}/agents", headers=admin)).json()
    assert b_coder["status"] == "active"
    assert agent_task_queue(a, CODER) != agent_task_queue(b, CODER)


async def test_each_tenants_events_reach_its_own_coder_worker(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    a, b = await _two_tenants_with_coder(http, admin, make_tenant)
    recorders = {a: RecordingAgent(CODER), b: RecordingAgent(CODER)}
    async with running(agent_worker(temporal_client, a, CODER, recorders[a].think)), \
            running(agent_worker(temporal_client, b, CODER, recorders[b].think)):
        for tenant in (a, b, a):
            raw, headers = slack_message(f"hello from {tenant}", "C_ANY")
            r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=headers)
            event = await wait_status(http, admin, tenant, r.json()["inbox_id"],
                                      {"dispatched"}, 1)
            assert event["agent_ids"] == [CODER]
    assert [t.event.tenant_id for t in recorders[a].seen] == [a, a]
    assert [t.event.tenant_id for t in recorders[b].seen] == [b]
    assert recorders[b].seen[0].profile.role == "writes code for B"


async def _open(api_url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(api_url.replace("http://", "ws://") + "/agents/ws",
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def test_a_stuck_coder_closes_only_its_own_tenants_socket(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool,
) -> None:
    a, b = await _two_tenants_with_coder(http, admin, make_tenant)
    ws_a = await _open(api_url, await agent_token(http, admin, a, CODER))
    ws_b = await _open(api_url, await agent_token(http, admin, b, CODER))
    async with ws_a, ws_b:
        await StuckAgents(pool)(a, CODER, "posted the same message 3 times")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws_a.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CloseCode.STUCK_AGENT
        await asyncio.sleep(0.5)  # B's socket would have been closed by the same NOTIFY
        await ws_b.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws_b.recv(), 5)) == {"type": "pong"}
    statuses = {t: (await http.get(f"/admin/tenants/{t}/agents", headers=admin)).json()[0]
                ["status"] for t in (a, b)}
    assert statuses == {a: "paused", b: "active"}


async def test_a_token_of_one_tenants_coder_cannot_act_for_the_others(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    remotes: Remotes,
) -> None:
    a, b = await _two_tenants_with_coder(http, admin, make_tenant)
    channel = await slack_channel(http, admin, remotes, b, CODER)  # only B's coder may post
    creds = (await http.post(f"/admin/tenants/{a}/agents/{CODER}/credentials",
                             headers=admin)).json()
    assert creds["client_id"] == f"{a}.{CODER}"

    def basic(client_id: str) -> dict[str, str]:
        pair = f"{client_id}:{creds['client_secret']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    grant = {"grant_type": "client_credentials"}
    for other in (f"{b}.{CODER}", CODER, f"{b}.{a}.{CODER}"):
        r = await http.post("/oauth/token", data=grant, headers=basic(other))
        assert (r.status_code, r.json()["error"]) == (401, "invalid_client"), other
    r = await http.post("/oauth/token", data=grant, headers=basic(creds["client_id"]))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["tenant"]) == (f"{a}.{CODER}", a)

    r = await http.post("/gateway/execute",
                        headers={**bearer(token), "Idempotency-Key": "k-123456"},
                        json={"intent": "slack_post_message",
                              "args": {"channel": channel, "text": "from A's coder"}})
    assert (r.status_code, r.json()["error"]) == (403, "denied")
    assert not [m for m in remotes.slack.messages if m["channel"] == channel]
    b_audit = (await http.get(f"/admin/tenants/{b}/audit", headers=admin)).json()
    assert b_audit == []
    async with await _open(api_url, token) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}
    refused = await websockets.connect(
        api_url.replace("http://", "ws://") + f"/agents/ws?tenant={b}",
        subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(refused.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.FORBIDDEN


async def test_the_migration_keys_existing_agents_by_tenant_and_keeps_their_data(
    pg_url: str,
) -> None:
    url = database_url(pg_url, f"mig_{uuid.uuid4().hex[:8]}")
    await database.ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        folder = resources.files("infra") / "migrations"
        files = sorted((p for p in folder.iterdir()
                        if p.name.endswith(".sql") and not p.name.endswith(".down.sql")),
                       key=lambda p: p.name)
        older = [p for p in files if p.name < "0010"]
        await conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")
        for path in older:
            await conn.execute(path.read_text())
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)",
                               path.name.removesuffix(".sql"))
        await conn.execute("INSERT INTO tenants (id, name) VALUES ('acme', 'Acme'), ('beta', 'B')")
        await conn.execute("INSERT INTO agents (id, tenant_id, name, role, client_secret_hash)"
                           " VALUES ('coder', 'acme', 'Coder', 'codes', 'h4sh')")
        await conn.execute("INSERT INTO grants (tenant_id, agent_id, intent, resource_pattern)"
                           " VALUES ('acme', 'coder', 'github_push', 'acme/*')")
        await conn.execute("INSERT INTO identity_links VALUES ('acme', 'github', 'octo', 'coder')")

        applied = await database.migrate(conn)  # 0010, then any later ones
        assert applied[0] == "0010_agents_per_tenant", applied

        agent = await conn.fetchrow("SELECT tenant_id, name, role, client_secret_hash"
                                    " FROM agents WHERE id = 'coder'")
        assert dict(agent) == {"tenant_id": "acme", "name": "Coder", "role": "codes",
                               "client_secret_hash": "h4sh"}
        assert await conn.fetchval("SELECT count(*) FROM grants WHERE tenant_id = 'acme'"
                                   " AND agent_id = 'coder'") == 1
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # acme's coder is not beta's
            await conn.execute("INSERT INTO grants (tenant_id, agent_id, intent, resource_pattern)"
                               " VALUES ('beta', 'coder', 'github_push', '*')")
        await conn.execute("INSERT INTO agents (id, tenant_id, name) VALUES ('coder', 'beta', 'C')")
        await conn.execute("DELETE FROM agents WHERE tenant_id = 'acme' AND id = 'coder'")
        assert await conn.fetchval("SELECT count(*) FROM grants") == 0
        assert await conn.fetchval("SELECT count(*) FROM identity_links") == 0
        assert await conn.fetchval("SELECT count(*) FROM agents WHERE id = 'coder'") == 1
    finally:
        await conn.close()


def test_client_ids_and_queues_name_the_tenant() -> None:
    assert agent_task_queue("acme", "coder") == "agent.acme.coder"
