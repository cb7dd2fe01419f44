"""A PostgreSQL restart under a running API: the kill switch and stuck-agent closes still work.

Every API process hears both through LISTEN on one database connection. That connection dies
with the database; the API must listen again once it is back (and catch up on what it missed),
or ``stop_all`` would leave every agent socket open. The test owns all of it: a PostgreSQL it
restarts, a Temporal dev server, the platform worker, and the API as its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import websockets
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from infra.database import create_pool
from infra.embedded import wait_for_port
from infra.embedded_postgres import EmbeddedPostgres
from infra.settings import GatewaySettings, Settings
from infra.vault import build_secret_store
from tests.admin import agent_token, grant, store_secret
from tests.conftest import GATEWAY_TOKEN
from tests.fakes.slack_api import FakeSlack
from tests.harness import free_port, make_settings, payload_env, running, start_postgres
from tests.test_temporal_outage import temporal_server
from workers.platform import platform_workers

SWITCHBOARD = Path(sys.executable).parent / "switchboard"
OUTAGE_SECONDS = 5.0
CLOSE_BOUND = 5.0  # generous on a loaded 2-core machine; the figure itself is printed


async def test_kill_switch_and_stuck_close_reach_sockets_after_a_postgres_restart(
    tmp_path: Path,
) -> None:
    pg, url = await start_postgres(tmp_path, "restart_test")
    port = free_port()
    try:
        with FakeSlack(GATEWAY_TOKEN) as slack:
            settings = make_settings(url, f"127.0.0.1:{port}", f"restart-{uuid.uuid4().hex[:6]}")
            settings.gateway = GatewaySettings(task_queue=f"gw-{uuid.uuid4().hex[:6]}",
                                               slack_api_url=slack.base_url, timeout_seconds=5)
            async with temporal_server(tmp_path / "temporal.db", port), \
                    _platform(settings) as pool, \
                    _api_process(settings, tmp_path / "api.log") as (api, proc):
                await _scenario(pg, api, settings, slack, pool)
                proc.send_signal(signal.SIGTERM)
                async with asyncio.timeout(15):  # shutdown completes, pool closed, no error
                    code = await proc.wait()
                log = (tmp_path / "api.log").read_text(errors="replace")
                assert code in (0, -signal.SIGTERM), log[-3000:]  # uvicorn re-raises it
                assert "Application shutdown complete" in log, log[-3000:]
                for trouble in ("never retrieved", "shutdown failed"):
                    assert trouble not in log, log[-3000:]
    finally:
        pg.stop()


async def _scenario(pg: EmbeddedPostgres, api: str, settings: Settings, slack: FakeSlack,
                    pool: asyncpg.Pool) -> None:
    assert settings.admin_token is not None
    admin = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    agents = [f"calm-{i}" for i in range(5)]
    looper = "looper"
    channel = "CRESTART"
    slack.channels.add(channel)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        tenant = "restart"
        r = await http.post("/admin/tenants", headers=admin, json={"id": tenant, "name": tenant})
        assert r.status_code == 201, r.text
        for agent in (*agents, looper):
            r = await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                                json={"id": agent, "name": agent})
            assert r.status_code == 201, r.text
        await store_secret(http, admin, tenant, "slack_bot_token")
        await grant(http, admin, tenant, looper, "slack_post_message")
        calm = [await _connect(api, await agent_token(http, admin, tenant, a)) for a in agents]
        stuck = await _connect(api, await agent_token(http, admin, tenant, looper))

        await asyncio.to_thread(pg.stop)
        async with asyncio.timeout(OUTAGE_SECONDS):  # the API sees the database gone
            while await _database_ready(http):
                await asyncio.sleep(0.2)
        await calm[0].send(json.dumps({  # meanwhile a message is answered, the socket kept
            "type": "gateway", "id": "blip", "intent": "slack_post_message",
            "idempotency_key": f"blip-{uuid.uuid4()}", "args": {"channel": channel, "text": "hi"}}))
        reply = json.loads(await asyncio.wait_for(calm[0].recv(), 10))
        assert reply["id"] == "blip" and reply["retryable"] is True, reply
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(pg.start)
        async with asyncio.timeout(30):  # the API's pool reaches the database again
            while not await _database_ready(http):
                await asyncio.sleep(0.2)

        # The circuit breaker's duplicate rule: the same text twice in a row is a stuck agent.
        started = time.monotonic()
        for i in range(2):
            await stuck.send(json.dumps({
                "type": "gateway", "id": i, "intent": "slack_post_message",
                "idempotency_key": f"loop-{uuid.uuid4()}",
                "args": {"channel": channel, "text": "I am stuck"}}))
        assert await _close_code(stuck) == 4002
        stuck_seconds = time.monotonic() - started
        assert await pool.fetchval(
            "SELECT status FROM agents WHERE tenant_id = $1 AND id = $2", tenant, looper
        ) == "paused"
        assert all(ws.close_code is None for ws in calm)  # only the stuck agent was closed

        started = time.monotonic()
        r = await http.post("/admin/kill-switch", headers=admin,
                            json={"action": "stop_all", "reason": "after the restart"})
        assert r.status_code == 200, r.text
        codes = await asyncio.gather(*(_close_code(ws) for ws in calm))
        severed = time.monotonic() - started
        assert codes == [4001] * len(calm)
        print(f"after a {OUTAGE_SECONDS:.0f} s PostgreSQL restart: stuck agent closed in "
              f"{stuck_seconds * 1000:.0f} ms, stop_all closed {len(calm)} sockets in "
              f"{severed * 1000:.0f} ms")
        assert severed < CLOSE_BOUND, severed


async def _database_ready(http: httpx.AsyncClient) -> bool:
    """Whether the API's readiness check reaches its database."""
    return bool((await http.get("/readyz")).json()["checks"]["database"] == "ok")


async def _connect(api: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(api.replace("http://", "ws://") + "/agents/ws",
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def _close_code(ws: websockets.ClientConnection) -> int | None:
    """Read until the server closes the socket; its close code (None if still open)."""
    try:
        async with asyncio.timeout(CLOSE_BOUND):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


@contextlib.asynccontextmanager
async def _platform(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The platform process's workers (they apply the kill switch), on a pool of their own."""
    assert settings.database.url is not None
    from infra import temporal

    client = await temporal.connect(settings.temporal)
    pool = await create_pool(settings.database.url, min_size=1, max_size=4)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for worker in platform_workers(client, pool, settings,
                                           build_secret_store(settings, pool)):
                await stack.enter_async_context(running(worker))
            yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def _api_process(settings: Settings, log: Path
                       ) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``switchboard api`` as its own process; yields its URL and the process."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
           "DATABASE_URL": str(settings.database.url),
           "TEMPORAL_ADDRESS": settings.temporal.address,
           "TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
           "SWITCHBOARD_ADMIN_TOKEN": _secret(settings.admin_token),
           "SWITCHBOARD_MASTER_KEY": _secret(settings.master_key),
           "SWITCHBOARD_DEV_MODE": "true",
           "SWITCHBOARD_GATEWAY_TASK_QUEUE": settings.gateway.task_queue,
           "SWITCHBOARD_GATEWAY_SLACK_API_URL": settings.gateway.slack_api_url, **payload_env()}
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(SWITCHBOARD), "api", "--port", str(port), env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink)
    try:
        await wait_for_port("127.0.0.1", port, 60)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _secret(value: SecretStr | None) -> str:
    assert value is not None
    return value.get_secret_value()
