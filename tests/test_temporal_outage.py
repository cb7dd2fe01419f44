"""Ingestion never depends on Temporal: deliveries wait in the inbox and run once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

from infra import readiness, temporal
from infra.database import create_pool
from infra.embedded import temporal_binary, temporal_dev_args, wait_for_port
from infra.settings import Settings, TemporalSettings
from tests import corpus
from tests.harness import (
    RecordingAgent,
    api_server,
    free_port,
    make_settings,
    migrated_database,
    running,
)
from workers.agent import agent_worker
from workers.platform import platform_worker


@contextlib.asynccontextmanager
async def temporal_server(db_file: Path, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Temporal dev server persisting to ``db_file`` (so a restart keeps its state), once its
    frontend reports healthy: it accepts TCP a moment before it serves."""
    args = temporal_dev_args(db_file, ip="127.0.0.1", port=port, ui_port=None)
    proc = await asyncio.create_subprocess_exec(
        str(temporal_binary()), *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await wait_for_port("127.0.0.1", port, within=60)
        await readiness.wait_for_temporal(TemporalSettings(address=f"127.0.0.1:{port}"), 60)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()


async def post_issue(http: httpx.AsyncClient, tenant: str) -> str:
    """POST a signed GitHub issue with a fresh delivery id; return the delivery id."""
    delivery = str(uuid.uuid4())
    raw = corpus.body(corpus.entry("github.issues.opened"))
    headers = {**corpus.entry("github.issues.opened")["headers"], "X-GitHub-Delivery": delivery,
               **corpus.github_sign(raw, corpus.secret("github"))}
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    return delivery


async def test_webhooks_accepted_while_temporal_is_down_run_once_after_restart(
    tmp_path: Path, pg_url: str
) -> None:
    url = await migrated_database(pg_url, f"outage_{uuid.uuid4().hex[:8]}")
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        await _scenario(tmp_path, url, pool)
    finally:
        await pool.close()


async def _scenario(tmp_path: Path, pg_url: str, pool: asyncpg.Pool) -> None:
    port = free_port()
    db_file = tmp_path / "temporal.db"
    queue = f"outage-{uuid.uuid4().hex[:6]}"
    settings: Settings = make_settings(pg_url, f"127.0.0.1:{port}", queue)
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    agent = RecordingAgent(agent_id)
    tenant = f"t-{uuid.uuid4().hex[:10]}"

    async with temporal_server(db_file, port) as server:
        client = await temporal.connect(settings.temporal)
        async with api_server(settings) as url, httpx.AsyncClient(base_url=url) as http:
            admin = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}  # type: ignore[union-attr]
            await http.post("/admin/tenants", headers=admin,
                            json={"id": tenant, "name": tenant, "default_agents": [agent_id]})
            await http.put(f"/admin/tenants/{tenant}/integrations/github", headers=admin,
                           json={"secret": corpus.secret("github")})
            await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                            # Independent deliveries of one issue: each its own run, not
                            # turns of one conversation (sessions are tests/test_sessions.py's)
                            json={"id": agent_id, "name": agent_id, "sessions": False})
            async with running(platform_worker(client, pool, settings.temporal.task_queue,
                                         gateway_queue=settings.gateway.task_queue)), \
                    running(agent_worker(client, tenant, agent_id, agent.think)):
                before = [await post_issue(http, tenant)]
                await agent.wait_for(1)

                server.send_signal(signal.SIGKILL)  # Temporal gone, abruptly
                await server.wait()
                during = [await post_issue(http, tenant) for _ in range(5)]
                await asyncio.sleep(1.5)  # the relay tries and backs off meanwhile
                waiting = await pool.fetchval(
                    "SELECT count(*) FROM inbox WHERE tenant_id = $1 AND relayed_at IS NULL",
                    tenant)
                assert waiting == 5, "accepted deliveries must wait in the inbox"

                async with temporal_server(db_file, port):
                    seen = await agent.wait_for(6, within=90)
                    await asyncio.sleep(1.0)  # would a duplicate arrive? give it the chance
                    runs = [t.run_id for t in agent.seen]

    assert len(runs) == 6 == len(set(runs)), runs
    assert {r.split("/")[3] for r in runs} == set(before + during)
    assert all(t.turn == 1 for t in seen)
    unrelayed = await pool.fetchval(
        "SELECT count(*) FROM inbox WHERE tenant_id = $1 AND relayed_at IS NULL", tenant)
    assert unrelayed == 0
