"""Enrichment on the dispatch path: what reading a ClickUp task costs an event before its agent.

The real stack: a Temporal dev server, the API with its relay in its own process, the platform
worker and a gateway worker with the real enricher (the embedded vault, httpx) in this one, a
local ClickUp fake, and one agent worker whose think answers at once. Sequential signed ClickUp
``taskCreated`` deliveries: each on a task of its own (cold: the fake is read), then all on one
task (warm: the enricher's cache answers), then GitHub ``issues.opened`` (no enrichment) as the
baseline on the same stack; last a few with ClickUp answering 503 (degraded: the bare event goes
on once the enrichment's schedule-to-close is spent).

Figures per kind: webhook POST -> think started; enrich_event scheduled -> completed (history
times); EventWorkflow started -> first child started (history times, when the event dispatches
through child runs rather than sessions). Events go one at a time, so the next think to start is
the event's; the agent's ``session_debounce_ms`` is 0 (admin API), so no think waits for a burst
window, and each GitHub delivery is a new issue (its own session). Figures only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from activities.enrich import EnrichActivities
from infra import database
from infra.enrichment import Enricher
from infra.settings import DatabaseSettings, GatewaySettings, Settings
from infra.vault import build_secret_store
from tests import corpus
from tests.bench.fixtures import NewIssues, create_tenant, server_env, set_debounce
from tests.bench.serve import served
from tests.bench.stack import bench_agent_id, temporal
from tests.bench.stats import heading, ms, percentile
from tests.fakes.clickup_api import FakeClickUp
from tests.harness import free_port, running
from workers.platform import platform_worker
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import agent_task_queue
from workflows.names import THINK_ACTIVITY
from workflows.policies import ENRICH_TIMEOUT

EVENTS = 100
WARMUP = 10
DEGRADED = 3
TOKEN = "pk_bench_clickup_token"
THINK_WITHIN = 30.0


@dataclass(frozen=True)
class Sample:
    """One event: POST -> think started; history: workflow start -> child, enrich step."""

    total: float
    to_child: float | None
    enrich: float | None


class StampingAgent:
    """A think that notes when it started and answers at once."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.started: asyncio.Queue[float] = asyncio.Queue()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Stamp, then give a final answer so the run ends."""
        self.started.put_nowait(time.perf_counter())
        return ThinkOutput(final=f"bench agent saw {inp.event.title!r}")


@dataclass(frozen=True)
class Bench:
    """The running stack."""

    client: Client
    http: httpx.AsyncClient
    tenant: str
    agent: StampingAgent
    clickup: FakeClickUp


def clickup_created(task: str) -> tuple[bytes, dict[str, str]]:
    """ClickUp's published taskCreated example for ``task`` with fresh ids, signed."""
    body = json.loads(corpus.body(corpus.entry("clickup.taskCreated")))
    body.update(task_id=task, webhook_id=str(uuid.uuid4()))
    for item in body["history_items"]:
        item["id"] = str(uuid.uuid4().int)[:19]
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 **corpus.clickup_sign(raw, corpus.secret("clickup"))}


async def _history_figures(client: Client, workflow_id: str
                           ) -> tuple[float | None, float | None]:
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    start = events[0].event_time.ToNanoseconds() / 1e9
    child = next((e for e in events if e.event_type ==
                  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), None)
    scheduled = {e.event_id: e for e in events
                 if e.HasField("activity_task_scheduled_event_attributes")
                 and e.activity_task_scheduled_event_attributes.activity_type.name
                 == "enrich_event"}
    done = [e for e in events if e.HasField("activity_task_completed_event_attributes")
            and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled]
    enrich = None
    if done:
        first = scheduled[done[0].activity_task_completed_event_attributes.scheduled_event_id]
        enrich = (done[0].event_time.ToNanoseconds() - first.event_time.ToNanoseconds()) / 1e9
    to_child = None if child is None else child.event_time.ToNanoseconds() / 1e9 - start
    return to_child, enrich


async def _one(bench: Bench, provider: str, raw: bytes, headers: dict[str, str]) -> Sample:
    while not bench.agent.started.empty():
        bench.agent.started.get_nowait()
    sent = time.perf_counter()
    r = await bench.http.post(f"/webhooks/{provider}/{bench.tenant}", content=raw,
                              headers=headers)
    if r.status_code != 202:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")
    workflow_id = r.json()["workflow_id"]
    think = await asyncio.wait_for(bench.agent.started.get(), THINK_WITHIN)
    await bench.client.get_workflow_handle(workflow_id).result()
    to_child, enrich = await _history_figures(bench.client, workflow_id)
    return Sample(think - sent, to_child, enrich)


@contextlib.asynccontextmanager
async def _stack(client: Client, db_url: str) -> AsyncIterator[Bench]:
    senv = server_env(db_url)
    queue, gateway_queue = (f"bench-{n}-{uuid.uuid4().hex[:8]}" for n in ("platform", "gw"))
    senv |= {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
             "TEMPORAL_TASK_QUEUE": queue, "SWITCHBOARD_GATEWAY_TASK_QUEUE": gateway_queue}
    settings = Settings(dev_mode=True, admin_token=SecretStr(senv["SWITCHBOARD_ADMIN_TOKEN"]),
                        master_key=SecretStr(senv["SWITCHBOARD_MASTER_KEY"]),
                        database=DatabaseSettings(url=db_url))
    agent = StampingAgent(bench_agent_id())
    tenant = f"bench-{uuid.uuid4().hex[:10]}"
    pool: asyncpg.Pool = await database.create_pool(db_url)
    try:
        with FakeClickUp(TOKEN) as clickup:
            enricher = Enricher(build_secret_store(settings, pool),
                                GatewaySettings(clickup_api_url=clickup.base_url))
            async with (
                served("app", free_port(), senv, relay=True) as api,
                running(platform_worker(client, pool, queue, gateway_queue=gateway_queue)),
                running(Worker(client, task_queue=gateway_queue,
                               activities=[EnrichActivities(enricher).enrich_event])),
                running(Worker(client, task_queue=agent_task_queue(tenant, agent.agent_id),
                               activities=[agent.think])),
                httpx.AsyncClient(base_url=api.url, timeout=30) as http,
            ):
                await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                                    agents=[agent.agent_id], default=True, tenant=tenant)
                await set_debounce(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"], tenant,
                                   [agent.agent_id], 0)
                admin = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
                for path, body in (("integrations/clickup", {"secret": corpus.secret("clickup")}),
                                   ("secrets/clickup_token", {"value": TOKEN})):
                    r = await http.put(f"/admin/tenants/{tenant}/{path}", headers=admin,
                                       json=body)
                    r.raise_for_status()
                yield Bench(client, http, tenant, agent, clickup)
    finally:
        await pool.close()


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<40} p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}"
            f"  max {ms(max(values))}")


async def bench_enrichment(db_url: str) -> None:
    """Print enrichment's latency on the dispatch path, cold, warm, degraded and without."""
    heading("Enrichment: a ClickUp task read before dispatch (received -> think started)")
    env = await temporal()
    try:
        async with _stack(env.client, db_url) as bench:
            await _run(bench)
    finally:
        await env.shutdown()


async def _run(bench: Bench) -> None:
    fake = bench.clickup

    def task(name: str) -> str:
        tid = f"86b{uuid.uuid4().hex[:8]}"
        fake.add_task(tid, name, f"{name}: steps to reproduce, expected and actual result.")
        return tid

    issues = NewIssues()

    async def github() -> Sample:
        headers, body = issues.signed(str(uuid.uuid4()))
        return await _one(bench, "github", body, headers)

    for _ in range(WARMUP):
        await _one(bench, "clickup", *clickup_created(task("warm-up")))
        await github()
    cold = [await _one(bench, "clickup", *clickup_created(task(f"cold {i}")))
            for i in range(EVENTS)]
    hot = task("cached")
    warm = [await _one(bench, "clickup", *clickup_created(hot)) for _ in range(EVENTS)]
    base = [await github() for _ in range(EVENTS)]
    fake.fail_next(503, "Service unavailable", times=100)
    try:
        down = [await _one(bench, "clickup", *clickup_created(task(f"down {i}")))
                for i in range(DEGRADED)]
    finally:
        fake.failures.clear()
    print(f"  API in its own process (relay on); platform, gateway (enricher, embedded vault)"
          f" and agent workers in this one; ClickUp fake on 127.0.0.1; {EVENTS} sequential"
          f" events each after {WARMUP} warm-up; agent session_debounce_ms 0")
    for name, samples in (("cold (task read from ClickUp)", cold),
                          ("warm (cached task)", warm), ("no enrichment (GitHub issue)", base)):
        print(f"  {name}:")
        print(_line("  received -> think started", [s.total for s in samples]))
        children = [s.to_child for s in samples if s.to_child is not None]
        if children:
            print(_line("  EventWorkflow started -> child started", children))
        enriched = [s.enrich for s in samples if s.enrich is not None]
        if enriched:
            print(_line("  enrich_event scheduled -> completed", enriched))
    added = [a - b for a, b in zip(sorted(s.total for s in cold),
                                   sorted(s.total for s in base), strict=True)]
    print(_line("received -> think, cold minus no enrichment", added))
    print("    (by rank: the i-th fastest of each)")
    print(f"  ClickUp answering 503 ({DEGRADED} events; gives up within"
          f" {ENRICH_TIMEOUT.total_seconds():g} s):")
    print(_line("  received -> think started (bare event)", [s.total for s in down]))
