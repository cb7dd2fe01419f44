"""Latency from webhook received to the agent's think activity started, through the real stack."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra import database
from infra.embedded import TEMPORAL_DYNAMIC_CONFIG, temporal_binary
from tests.bench import history
from tests.bench.fixtures import create_tenant, server_env, signed_issue_opened
from tests.bench.serve import served
from tests.bench.stats import heading, ms, percentile, verdict
from tests.harness import free_port, running
from workers.platform import platform_worker
from workflows import search
from workflows.agent_run import THINK_ACTIVITY
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import agent_task_queue, event_workflow_id, run_workflow_id

TARGET_P99 = 0.100
WARMUP_EVENTS = 10
THINK_WITHIN = 30.0


@dataclass
class Sample:
    """One event: perf_counter stamps for the end-to-end figure, wall clock to split it."""

    delivery: str
    sent: float
    acked: float
    think: float
    acked_wall: float
    think_wall: float


class TimedAgent:
    """A think activity that notes when it started, keyed by run id, and answers at once.

    It runs in its own worker on ``agent.<id>``, exactly where a real agent's worker polls.
    """

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.started: dict[str, asyncio.Future[tuple[float, float]]] = {}

    def expect(self, run_id: str) -> asyncio.Future[tuple[float, float]]:
        """A future resolved with (perf_counter, time) when think starts for ``run_id``."""
        return self.started.setdefault(run_id, asyncio.get_running_loop().create_future())

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Record the start time, then give a final answer so the run ends."""
        stamp = (time.perf_counter(), time.time())
        future = self.expect(inp.run_id)
        if not future.done():
            future.set_result(stamp)
        return ThinkOutput(final=f"benchmark agent {self.agent_id} saw {inp.event.title!r}")

    def worker(self, client: Client) -> Worker:
        """A worker polling this agent's own task queue."""
        return Worker(client, task_queue=agent_task_queue(self.agent_id),
                      activities=[self.think])


async def _one(http: httpx.AsyncClient, agent: TimedAgent, tenant: str, path: str,
               headers: dict[str, str], body: bytes) -> Sample:
    delivery = str(uuid.uuid4())
    thought = agent.expect(
        run_workflow_id(event_workflow_id(tenant, "github", delivery), agent.agent_id))
    sent = time.perf_counter()
    r = await http.post(path, content=body, headers=headers | {"X-GitHub-Delivery": delivery})
    acked, acked_wall = time.perf_counter(), time.time()
    if r.status_code != 202:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")
    try:
        think, think_wall = await asyncio.wait_for(thought, THINK_WITHIN)
    except TimeoutError:
        raise RuntimeError(f"no think started {THINK_WITHIN:g} s after delivery {delivery}:"
                           f" is the stack dispatching? ({r.text})") from None
    return Sample(delivery, sent, acked, think, acked_wall, think_wall)


async def _temporal() -> WorkflowEnvironment:
    extra: list[str] = []
    for value in TEMPORAL_DYNAMIC_CONFIG:
        extra += ["--dynamic-config-value", value]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), dev_server_extra_args=extra,
        data_converter=pydantic_data_converter, search_attributes=search.ALL,
    )


async def bench_latency(db_url: str, events: int) -> bool:
    """Send ``events`` webhooks one after another; print received-to-think percentiles."""
    heading("Latency: webhook received -> agent think activity started")
    env = await _temporal()
    try:
        return await _measure(env.client, db_url, events)
    finally:
        await env.shutdown()


async def _measure(client: Client, db_url: str, events: int) -> bool:
    queue, agent_id = f"bench-platform-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue}
    pool = await database.create_pool(db_url)
    agent = TimedAgent(agent_id)
    try:
        async with (
            served("app", free_port(), senv, relay=True) as api,
            running(platform_worker(client, pool, queue)),
            running(agent.worker(client)),
            httpx.AsyncClient(base_url=api.url, timeout=30) as http,
        ):
            tenant = await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                                         agents=[agent_id], default=True)
            headers, body = signed_issue_opened()
            path = f"/webhooks/github/{tenant}"
            print(f"  API in its own process (relay on); platform worker and a bench agent"
                  f" worker in this one; {events} sequential events after {WARMUP_EVENTS}"
                  f" warm-up; t0 just before the POST", flush=True)
            for _ in range(WARMUP_EVENTS):
                await _one(http, agent, tenant, path, headers, body)
            samples = [await _one(http, agent, tenant, path, headers, body)
                       for _ in range(events)]
            paths = [await history.critical_path(client, event_id, run_workflow_id(event_id,
                                                                                   agent_id))
                     for event_id in (event_workflow_id(tenant, "github", s.delivery)
                                      for s in samples)]
    finally:
        await pool.close()
    return _report(samples, paths)


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<44} p50 {ms(percentile(values, 50))}  p90 {ms(percentile(values, 90))}"
            f"  p99 {ms(percentile(values, 99))}  max {ms(max(values))}")


def _report(samples: list[Sample], paths: list[tuple[float, float, dict[str, float]]]) -> bool:
    total = [s.think - s.sent for s in samples]
    pairs = list(zip(samples, paths, strict=True))
    print(_line("received -> think started", total))
    print("  breakdown (this machine's wall clock; Temporal history event times):")
    print(_line("  POST -> 202 (verify, inbox commit, HTTP)", [s.acked - s.sent for s in samples]))
    print(_line("  202 -> EventWorkflow started (relay)", [p[0] - s.acked_wall for s, p in pairs]))
    print(_line("  EventWorkflow started -> think scheduled", [p[1] - p[0] for p in paths]))
    for category in history.CATEGORIES:
        if any(category in p[2] for p in paths):  # e.g. no activity goes through the server
            print(_line(f"    {category}", [p[2].get(category, 0.0) for p in paths]))
    print(_line("  think scheduled -> think started", [s.think_wall - p[1] for s, p in pairs]))
    p99 = percentile(total, 99)
    ok = p99 < TARGET_P99
    over = "" if ok else f", {(p99 - TARGET_P99) * 1000:.1f} ms over"
    detail = f"p99 {p99 * 1000:.1f} ms{over}"
    print(verdict(f"p99 received -> think < {TARGET_P99 * 1000:.0f} ms", ok, detail))
    return ok
