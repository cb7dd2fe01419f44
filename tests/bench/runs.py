"""Runs bench (issue #15): a schedule's trigger -> the agent's think started.

One agent with a paused schedule (so only triggers fire it) on the real API process, platform
worker and Temporal dev server. Each trigger waits for the think before the next, alternating
the two doors: the admin API's ``POST .../schedules/{sid}/trigger`` and the schedule handle's
``trigger()`` (what the Temporal UI calls). The path measured: Temporal's scheduler starts the
TriggeredRunWorkflow, which plans the run (plan_event: agent, grants, memory, kill switch,
context for the goal) and starts the AgentRunWorkflow, whose first think is the stamp.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from infra import database
from infra.settings import DatabaseSettings, Settings
from tests.bench.fixtures import create_tenant, server_env
from tests.bench.serve import served
from tests.bench.stack import temporal
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port, running
from workers.platform import platform_worker
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import agent_task_queue
from workflows.names import THINK_ACTIVITY

TRIGGERS = 20
WARMUP = 2


class Stamps:
    """A think that notes when each one started."""

    def __init__(self) -> None:
        self.started: list[float] = []

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Stamp, answer at once."""
        self.started.append(time.perf_counter())
        return ThinkOutput(final="ok")


async def bench_runs(db_url: str) -> None:
    """Run the bench and print its figures."""
    env = await temporal()
    try:
        await _run(env.client, db_url)
    finally:
        await env.shutdown()


async def _run(client: Client, db_url: str) -> None:
    queue, gateway_queue = (f"bench-{n}-{uuid.uuid4().hex[:8]}" for n in ("platform", "gw"))
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue,
                                 "SWITCHBOARD_GATEWAY_TASK_QUEUE": gateway_queue}
    Settings(dev_mode=True, admin_token=SecretStr(senv["SWITCHBOARD_ADMIN_TOKEN"]),
             master_key=SecretStr(senv["SWITCHBOARD_MASTER_KEY"]),
             database=DatabaseSettings(url=db_url))  # the same settings the API reads: valid
    agent, tenant = f"bench-{uuid.uuid4().hex[:6]}", f"bench-runs-{uuid.uuid4().hex[:6]}"
    stamps = Stamps()
    pool: asyncpg.Pool = await database.create_pool(db_url)
    auth = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
    try:
        async with (
            served("app", free_port(), senv) as api,
            running(platform_worker(client, pool, queue, gateway_queue=gateway_queue)),
            running(Worker(client, task_queue=agent_task_queue(tenant, agent),
                           activities=[stamps.think])),
            httpx.AsyncClient(base_url=api.url, timeout=30, headers=auth) as http,
        ):
            await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"], agents=[agent],
                                tenant=tenant)
            path = f"/admin/tenants/{tenant}/agents/{agent}/schedules"
            r = await http.post(path, json={"every": "24h", "goal": "bench", "paused": True})
            r.raise_for_status()
            made = r.json()
            handle = client.get_schedule_handle(made["temporal_id"])

            async def by_api() -> None:
                (await http.post(f"{path}/{made['id']}/trigger")).raise_for_status()

            doors = {"admin API": by_api, "schedule handle (Temporal UI)": handle.trigger}
            samples: dict[str, list[float]] = {door: [] for door in doors}
            for i in range(TRIGGERS + WARMUP):
                door = list(doors)[i % 2]
                before = len(stamps.started)
                sent = time.perf_counter()
                await doors[door]()
                async with asyncio.timeout(30):
                    while len(stamps.started) == before:
                        await asyncio.sleep(0.002)
                if i >= WARMUP:
                    samples[door].append(stamps.started[before] - sent)
                # a firing's workflow id carries its second: the next trigger in a new one
                await asyncio.sleep(max(0.0, 1.05 - (time.perf_counter() - sent)))
            _report(samples)
    finally:
        await pool.close()


def _report(samples: dict[str, list[float]]) -> None:
    heading(f"Runs: schedule trigger -> think started, {TRIGGERS} triggers of a paused schedule"
            " (one at a time, alternating the doors)")
    every = sorted(v for values in samples.values() for v in values)
    for door, values in samples.items():
        values = sorted(values)
        print(f"  {door:<30}  p50 {ms(percentile(values, 50))}"
              f"  p99 {ms(percentile(values, 99))}  (n={len(values)})")
    print(f"  {'all':<30}  p50 {ms(percentile(every, 50))}  p99 {ms(percentile(every, 99))}")
