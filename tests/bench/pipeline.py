"""Throughput of the whole pipeline with one agent worker: webhooks in, thinks done, per second.

The real stack (tests/bench/stack.py): a Temporal dev server, the API with its relay and the
platform worker (``switchboard worker``) each in its own process, and ONE agent worker whose
think answers at once, in this one. ``EVENTS`` (``--events``) signed GitHub ``issues.opened``
deliveries (each a new issue, so its own thread and session; the bench agent is the tenant's
default agent, with ``session_debounce_ms`` 0 so that the figure is the pipeline's pace, not
the window's) are posted by a few concurrent senders; the clock runs from the first POST to the
last think completed. The think activity's dispatch
latency (scheduled -> started) is read from ``activity.info()`` for every run and from the
histories of a sample.

What an event costs (issue #17, item 1): the CPU each process used over that clock, per event,
and the Temporal work read back from every event's histories (tests/bench/costs.py). Then, in
the same run, the no-op ceiling (tests/bench/ceiling.py): the cheapest workflow that starts,
schedules one activity and completes, driven at the same concurrency through the same server.
The last line: ``RESULT pipeline events_per_s=<x> ceiling_per_s=<y> ratio=<x/y>``.

``--remote-embeddings``: the stack embeds through an OpenAI-compatible endpoint served from
this process (tests/fakes/openai_embeddings.py, hashed vectors), as a deployment with OpenAI
embeddings does, instead of running the ONNX model in the platform worker: what the platform
costs with the model's work off the machine (the fake's own CPU counts in this process's row).

Figures only; nothing here is a target or an assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import psutil
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from infra import database
from tests.bench.ceiling import ceiling
from tests.bench.costs import CpuMeter, cost_table, event_costs, postmaster_pid, temporal_pid
from tests.bench.skeleton import skeleton
from tests.bench.stack import Stack, bench_agent_id, dispatching_stack, temporal
from tests.bench.stats import heading, ms, percentile
from tests.fakes.openai_embeddings import FakeEmbeddings
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.ids import event_workflow_id, run_workflow_id
from workflows.names import THINK_ACTIVITY

EVENTS = 200  # python -m tests.bench --only pipeline --events N for more
CONCURRENCY = 8
WARMUP_EVENTS = 10
HISTORY_SAMPLE = 30
DONE_WITHIN = 120.0
OWN = "agent worker + senders (bench)"


class CountingAgent:
    """A think that answers at once and notes, per run, when it finished and how long the task
    waited between being scheduled and started."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.expected: set[str] = set()
        self.finished: dict[str, float] = {}  # run id -> perf_counter when think returned
        self.dispatch: dict[str, float] = {}  # run id -> started_time - scheduled (server)
        self.received: dict[str, float] = {}  # run id -> this worker's clock - scheduled
        self.all_done = asyncio.Event()

    def expect(self, run_ids: set[str]) -> None:
        """Count the thinks of these runs from now on."""
        self.expected, self.finished = set(run_ids), {}
        self.dispatch, self.received = {}, {}
        self.all_done.clear()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Note the dispatch times; give a final answer so the run ends."""
        now = time.time()
        info = activity.info()
        scheduled = info.current_attempt_scheduled_time
        self.dispatch[inp.run_id] = (info.started_time - scheduled).total_seconds()
        self.received[inp.run_id] = now - scheduled.timestamp()
        answer = f"benchmark agent {self.agent_id} saw {inp.event.title!r}"
        self.finished[inp.run_id] = time.perf_counter()
        if self.expected and self.expected <= self.finished.keys():
            self.all_done.set()
        return ThinkOutput(final=answer, usage=Usage(model="bench", input_tokens=1,
                                                     output_tokens=len(answer.split())))


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<46} p50 {ms(percentile(values, 50))}  p90 {ms(percentile(values, 90))}"
            f"  p99 {ms(percentile(values, 99))}  max {ms(max(values))}")


async def bench_pipeline(db_url: str, events: int = EVENTS, *,
                         remote_embeddings: bool = False) -> None:
    """Post ``events`` webhooks a few at a time; print events/s, the think dispatch latency,
    what an event costs, the no-op ceiling and the RESULT line."""
    heading("Pipeline: events/s, webhook -> think completed, one agent worker")
    env = await temporal()
    try:
        with embedder_env(remote_embeddings) as settings:
            await _measure(env.client, db_url, events, settings)
    finally:
        await env.shutdown()


@contextlib.contextmanager
def embedder_env(remote: bool) -> Iterator[dict[str, str]]:
    """The stack's embedder settings: none (the default, ONNX in the platform worker) or, when
    ``remote``, an OpenAI-compatible endpoint served from this process."""
    if not remote:
        yield {}
        return
    with FakeEmbeddings(hashed_vector) as fake:
        print(f"  embeddings: remote, an OpenAI-compatible fake at {fake.base_url}", flush=True)
        yield {"SWITCHBOARD_CONTEXT_EMBEDDER": "openai",
               "SWITCHBOARD_CONTEXT_OPENAI_BASE_URL": fake.base_url,
               "SWITCHBOARD_CONTEXT_OPENAI_API_KEY": "bench-embeddings",
               "SWITCHBOARD_CONTEXT_OPENAI_DIMENSIONS": "384"}


def hashed_vector(text: str, dims: int) -> list[float]:
    """A unit vector drawn from the text's hash: the same text, the same vector."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    vector = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


async def _post_all(stack: Stack, requests: list[tuple[dict[str, str], bytes]]) -> float:
    """POST every request with CONCURRENCY senders, spread round-robin over the stack's APIs;
    return when the last 202 came back."""
    pending = iter(requests)
    clients = stack.clients or (stack.http,)

    async def sender(http: httpx.AsyncClient) -> None:
        for headers, body in pending:
            r = await http.post(stack.path, content=body, headers=headers)
            if r.status_code != 202:
                raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")

    await asyncio.gather(*(sender(clients[i % len(clients)]) for i in range(CONCURRENCY)))
    return time.perf_counter()


async def _through(stack: Stack, agent: CountingAgent, count: int
                   ) -> tuple[list[str], float, float, float]:
    """Send ``count`` fresh deliveries; return them, t0, all-acked and last-think stamps."""
    deliveries = [str(uuid.uuid4()) for _ in range(count)]
    requests = [stack.issues.signed(d) for d in deliveries]  # signed before the clock starts
    agent.expect({run_workflow_id(event_workflow_id(stack.tenant, "github", d), agent.agent_id)
                  for d in deliveries})
    started = time.perf_counter()
    acked = await _post_all(stack, requests)
    try:
        await asyncio.wait_for(agent.all_done.wait(), DONE_WITHIN)
    except TimeoutError:
        raise RuntimeError(f"only {len(agent.finished)}/{count} thinks completed within"
                           f" {DONE_WITHIN:g} s: is the stack dispatching?") from None
    return deliveries, started, acked, max(agent.finished.values())


@dataclass
class Measured:
    """One timed run through a stack (``measured``): its clocks, in perf_counter seconds but
    ``started_wall`` (unix), and the CPU seconds each process used over it."""

    stack: Stack
    agent: CountingAgent
    cpu: CpuMeter
    deliveries: list[str]
    started: float
    started_wall: float
    acked: float
    last: float
    used: dict[str, float]
    machine: float  # CPU seconds the whole machine was busy (every process, ours or not)

    @property
    def elapsed(self) -> float:
        """First POST -> last think completed."""
        return self.last - self.started


@contextlib.asynccontextmanager
async def measured(client: Client, db_url: str, count: int, *, apis: int = 1, workers: int = 1,
                   env: dict[str, str] | None = None) -> AsyncIterator[Measured]:
    """A fresh stack (``apis`` API processes with their relays, ``workers`` platform worker
    processes, one bench agent worker here), warmed up and then driven with ``count`` events;
    yields the figures with the stack still up. CPU names: "API" and "platform worker", or
    "API <i>" and "platform worker <i>" when there are several; OWN; "Temporal server";
    "PostgreSQL". ``env``: more environment for the API and worker processes."""
    agent = CountingAgent(bench_agent_id())
    pool = await database.create_pool(db_url, min_size=1, max_size=1)
    backend = int(await pool.fetchval("SELECT pg_backend_pid()"))
    try:
        async with dispatching_stack(client, db_url, agent.agent_id, agent.think,
                                     api_env=env, worker_process=True, apis=apis,
                                     workers=workers,
                                     limits=httpx.Limits(max_connections=CONCURRENCY)) as stack:
            default_ms = await stack.debounce(0)
            shape = ("API (relay on) and platform worker (switchboard worker) each"
                     if apis == workers == 1 else f"{apis} APIs (each with its relay; senders"
                     f" spread round-robin over them) and {workers} platform workers (switchboard"
                     " worker, one queue), each")
            print(f"  {shape} in its own process; ONE bench agent worker (think answers at once)"
                  f" in this one; {count} events, each a new issue (its own session; agent"
                  f" session_debounce_ms 0, default {default_ms}), posted by {CONCURRENCY}"
                  f" concurrent senders after {WARMUP_EVENTS} warm-up", flush=True)
            await _through(stack, agent, WARMUP_EVENTS)
            roles = {(f"API {i}" if apis > 1 else "API"): api.pid
                     for i, api in enumerate(stack.apis, 1)}
            roles |= {(f"platform worker {i}" if workers > 1 else "platform worker"): pid
                      for i, pid in enumerate(stack.worker_pids, 1)}
            cpu = CpuMeter(roles | {OWN: os.getpid(), "Temporal server": temporal_pid(),
                                    "PostgreSQL": postmaster_pid(backend)}, own=OWN)
            started_wall, busy = time.time(), _busy()
            cpu.start()
            deliveries, started, acked, last = await _through(stack, agent, count)
            used, machine = cpu.stop(), _busy() - busy
            yield Measured(stack, agent, cpu, deliveries, started, started_wall, acked, last,
                           used, machine)
    finally:
        await pool.close()


def _busy() -> float:
    """CPU seconds the machine has been busy (all cores, all processes) since boot."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


async def _measure(client: Client, db_url: str, count: int, env: dict[str, str]) -> None:
    async with measured(client, db_url, count, env=env) as run:
        stack, agent, cpu, used = run.stack, run.agent, run.cpu, run.used
        started, started_wall, acked = run.started, run.started_wall, run.acked
        events = [event_workflow_id(stack.tenant, "github", d) for d in run.deliveries]
        runs = [run_workflow_id(e, agent.agent_id) for e in events]
        begun, closed = await _times(client, events)
        sample = await asyncio.gather(*(
            _think_dispatch(client, r)
            for r in runs[:: max(1, len(runs) // HISTORY_SAMPLE)][:HISTORY_SAMPLE]))
        per_type, samples = await event_costs(client, events, runs)
        print(f"  no-op ceiling: {count} BenchNoopWorkflow (start, one activity, complete), same"
              f" server and client, {CONCURRENCY} concurrent starters ...", flush=True)
        ceiling_per_s, noop_cpu, noop = await ceiling(client, count, CONCURRENCY, cpu)
        print(f"  the design's floor: {count} events through the skeleton (EventWorkflow,"
              " session, run: the same steps, empty), same server and client ...", flush=True)
        floor_per_s, floor_cpu, floor = await skeleton(client, count, CONCURRENCY, cpu,
                                                       stack.tenant)

    elapsed = run.elapsed
    print(f"  first POST -> last 202:                     {acked - started:7.2f} s"
          f"  ({count / (acked - started):7.1f} webhooks/s accepted)")
    print(f"  first POST -> last EventWorkflow started:   {begun - started_wall:7.2f} s"
          f"  (the relay's pace)")
    print(f"  first POST -> last think completed:         {elapsed:7.2f} s"
          f"  ({count / elapsed:7.1f} events/s)")
    print(f"  first POST -> last EventWorkflow closed:    {closed - started_wall:7.2f} s"
          f"  ({count / (closed - started_wall):7.1f} events/s, outcome recorded)")
    print(f"  CPU over first POST -> last think ({os.cpu_count()} cores here; load average"
          f" {os.getloadavg()[0]:.2f}):  cores     ms/event")
    for name, seconds in [*used.items(), ("all", sum(used.values()))]:
        print(f"    {name:<40} {seconds / elapsed:6.2f}  {seconds / count * 1000:10.2f}")
    print("  Temporal, per event (read from the histories: EventWorkflow, its session's share,"
          " its run, a mirror if any):")
    print("\n".join(cost_table(per_type, count)))
    for name, history in sorted(samples.items()):
        print(f"    one {name}: {history}")
    print(f"  no-op ceiling: {ceiling_per_s:.1f} workflows/s; one holds "
          + ", ".join(f"{v:g} {k}" for k, v in noop.items() if v) + "; CPU ms per workflow: "
          + ", ".join(f"{k} {v / count * 1000:.1f}" for k, v in noop_cpu.items()))
    print(f"  the design's floor: {floor_per_s:.1f} events/s, {floor_per_s / ceiling_per_s:.2f}"
          " of the ceiling: the most the pipeline can reach whatever its steps do; one event"
          " holds " + ", ".join(f"{v:g} {k}" for k, v in floor.items() if v)
          + "; CPU ms per event: "
          + ", ".join(f"{k} {v / count * 1000:.1f}" for k, v in floor_cpu.items()))
    print("  think/1 dispatch (ActivityTaskScheduled -> started):")
    print(_line("  activity.info(), server clock, all runs", list(agent.dispatch.values())))
    print(_line("  scheduled -> running in the agent worker", list(agent.received.values())))
    print(_line(f"  from history, {len(sample)} sampled runs", sample))
    rate = count / elapsed
    print(f"RESULT pipeline events_per_s={rate:.1f} ceiling_per_s={ceiling_per_s:.1f}"
          f" ratio={rate / ceiling_per_s:.2f}", flush=True)


async def _times(client: Client, workflow_ids: list[str]) -> tuple[float, float]:
    """Wait for every workflow to close; the latest start and close times (unix seconds)."""
    gate = asyncio.Semaphore(32)

    async def times(workflow_id: str) -> tuple[datetime, datetime]:
        async with gate:
            handle = client.get_workflow_handle(workflow_id)
            await handle.result()
            described = await handle.describe()
            if described.close_time is None:
                raise RuntimeError(f"{workflow_id} has no close time")
            return described.start_time, described.close_time

    found = await asyncio.gather(*map(times, workflow_ids))
    return max(t[0] for t in found).timestamp(), max(t[1] for t in found).timestamp()


async def _think_dispatch(client: Client, run_id: str) -> float:
    """Seconds between think/1's ActivityTaskScheduled and ActivityTaskStarted in a run."""
    history = (await client.get_workflow_handle(run_id).fetch_history()).events
    scheduled = next(e for e in history
                     if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                     and e.activity_task_scheduled_event_attributes.activity_id == "think/1")
    started = next(e for e in history
                   if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                   and e.activity_task_started_event_attributes.scheduled_event_id
                   == scheduled.event_id)
    return (started.event_time.ToNanoseconds() - scheduled.event_time.ToNanoseconds()) / 1e9
