"""Approval round trip (README, Approvals): ``python -m tests.bench --only approvals``.

One stack in this process (Temporal dev server, the API with its relay, the platform and gateway
workers, a scripted agent's worker) with the Slack fake and a real git remote. Each of N runs
asks for an approval-gated ``github_push``; as soon as the request is in the Slack fake, the
bench decides it, alternately by a signed ``block_actions`` click (webhook, inbox, relay,
EventWorkflow, signal) and by ``POST .../approvals/{id}/approve``. Figures, from PostgreSQL's
clock: request opened (``created_at``, just before its Slack post) -> decision applied
(``applied_at``: the push ran), and decided (``decided_at``) -> applied, each per door. Not
``posted_at``: it is written once the post's answer is back, and a fast decision can come
before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from infra import database
from infra.settings import GatewaySettings
from infra.temporal import connect
from infra.vault import build_secret_store
from tests import corpus
from tests.bench.stack import temporal
from tests.bench.stats import heading, percentile
from tests.conftest import GATEWAY_TOKEN, Remotes
from tests.fakes.clickup_api import FakeClickUp
from tests.fakes.git_http import FakeGitRemote
from tests.fakes.github_api import FakeGitHub
from tests.fakes.slack_api import FakeSlack
from tests.harness import api_server, make_settings, running
from tests.test_approvals import (
    APPROVER,
    buttons,
    click,
    gated_push,
    pushing_agent,
    start_run,
)
from workers.platform import platform_workers


async def bench_approvals(db_url: str, approvals: int = 20) -> None:
    """Run ``approvals`` approval round trips per door and print p50/p99."""
    env = await temporal()
    pool = await database.create_pool(db_url)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-approvals-") as folder, \
                FakeSlack(GATEWAY_TOKEN) as slack, FakeGitHub(GATEWAY_TOKEN) as github, \
                FakeClickUp(GATEWAY_TOKEN) as clickup, \
                FakeGitRemote(Path(folder) / "git", GATEWAY_TOKEN) as git:
            remotes = Remotes(slack, github, clickup, git, Path(folder) / "workspaces")
            address = env.client.service_client.config.target_host
            settings = make_settings(db_url, address, f"bench-platform-{uuid.uuid4().hex[:8]}")
            settings.gateway = GatewaySettings(
                task_queue=f"bench-gateway-{uuid.uuid4().hex[:8]}",
                github_git_url=git.base_url, slack_api_url=slack.base_url,
                workspaces=remotes.workspaces, timeout_seconds=10)
            # The API seals payloads with the settings' keys: every client here uses them too.
            client = await connect(settings.temporal)
            assert settings.admin_token is not None
            admin = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
            async with contextlib.AsyncExitStack() as stack:
                for worker in platform_workers(client, pool, settings,
                                               build_secret_store(settings, pool)):
                    await stack.enter_async_context(running(worker))
                url = await stack.enter_async_context(api_server(settings))
                http = await stack.enter_async_context(httpx.AsyncClient(base_url=url,
                                                                         timeout=30))

                async def make_tenant(agents: tuple[str, ...] = ()) -> str:
                    tenant = f"bench-{uuid.uuid4().hex[:10]}"
                    (await http.post("/admin/tenants", headers=admin,
                                     json={"id": tenant, "name": tenant})).raise_for_status()
                    (await http.put(f"/admin/tenants/{tenant}/integrations/slack", headers=admin,
                                    json={"secret": corpus.secret("slack")})).raise_for_status()
                    for agent in agents:
                        (await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                                         json={"id": agent, "name": agent})).raise_for_status()
                    return tenant

                g = await gated_push(http, admin, make_tenant, remotes)
                # 40 pushes in a row: above the breaker's default 10 writes a minute per agent
                (await http.put(f"/admin/tenants/{g.tenant}/limits", headers=admin,
                                json={"messages_per_minute": 1000})).raise_for_status()
                await stack.enter_async_context(
                    pushing_agent(client, Path(folder), g))
                figures: dict[str, list[tuple[float, float]]] = {"slack": [], "api": []}
                started = time.perf_counter()
                for i in range(approvals * 2):
                    door = "slack" if i % 2 == 0 else "api"
                    before = len([m for m in slack.messages if m["channel"] == g.channel])
                    run = await start_run(client, settings, g)
                    message = await _nth_request(remotes, g.channel, before)
                    approval_id = buttons(message)["approval_approve"]
                    if door == "slack":
                        await click(http, g.tenant, message, APPROVER, "approval_approve")
                    else:
                        (await http.post(f"/admin/tenants/{g.tenant}/approvals/{approval_id}"
                                         "/approve", headers=admin, json={})).raise_for_status()
                    outcome = await run.result()
                    assert outcome.status == "answered", outcome
                    row = await pool.fetchrow(
                        "SELECT extract(epoch FROM applied_at - created_at) AS round_trip,"
                        " extract(epoch FROM applied_at - decided_at) AS applied"
                        " FROM approvals WHERE id = $1", approval_id)
                    assert row is not None and row["round_trip"] is not None
                    figures[door].append((float(row["round_trip"]), float(row["applied"])))
                elapsed = time.perf_counter() - started
    finally:
        await pool.close()
        await env.shutdown()
    heading(f"Approval round trip: {approvals} approvals per door ({elapsed:.1f} s in all)")
    for door, pairs in figures.items():
        trips, applied = [p[0] for p in pairs], [p[1] for p in pairs]
        print(f"{door:>5}: requested -> applied p50 {percentile(trips, 50) * 1000:7.1f} ms,"
              f" p99 {percentile(trips, 99) * 1000:7.1f} ms; decided -> applied"
              f" p50 {percentile(applied, 50) * 1000:7.1f} ms,"
              f" p99 {percentile(applied, 99) * 1000:7.1f} ms", flush=True)


async def _nth_request(remotes: Remotes, channel: str, before: int) -> dict[str, Any]:
    """The next request posted in ``channel`` after ``before`` earlier ones."""
    async with asyncio.timeout(30):
        while True:
            posted = [m for m in remotes.slack.messages if m["channel"] == channel]
            if len(posted) > before:
                return posted[before]
            await asyncio.sleep(0.005)
