"""Throughput of the whole pipeline with one agent worker: webhooks in, thinks done, per second.

The real stack (tests/bench/stack.py): a Temporal dev server, the API with its relay in its
own process, the platform worker in this one, and ONE agent worker whose think answers at once.
``EVENTS`` signed GitHub ``issues.opened`` deliveries (each a new issue, so its own thread and
session; the bench agent is the tenant's default agent, with ``session_debounce_ms`` 0 so that
the figure is the pipeline's pace, not the window's) are posted by a few concurrent senders;
the clock runs from the first POST to the last think completed. The think activity's dispatch
latency (scheduled -> started) is read from ``activity.info()`` for every run and from the
histories of a sample.

Figures only; nothing here is a target or an assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.bench.stack import Stack, bench_agent_id, dispatching_stack, temporal
from tests.bench.stats import heading, ms, percentile
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.ids import event_workflow_id, run_workflow_id
from workflows.names import THINK_ACTIVITY

EVENTS = 300
CONCURRENCY = 8
WARMUP_EVENTS = 10
HISTORY_SAMPLE = 30
DONE_WITHIN = 120.0


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


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, task.read_text().split()):
            found += [child, *_children(child)]
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) these processes used so far."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _temporal_pids() -> list[int]:
    """The Temporal dev server's processes (children of this one named ``temporal``)."""
    return [pid for pid in _children(os.getpid())
            if Path(f"/proc/{pid}/comm").read_text().strip() == "temporal"]


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<46} p50 {ms(percentile(values, 50))}  p90 {ms(percentile(values, 90))}"
            f"  p99 {ms(percentile(values, 99))}  max {ms(max(values))}")


async def bench_pipeline(db_url: str) -> None:
    """Post EVENTS webhooks a few at a time; print events/s and the think dispatch latency."""
    heading("Pipeline: events/s, webhook -> think completed, one agent worker")
    env = await temporal()
    try:
        await _measure(env.client, db_url)
    finally:
        await env.shutdown()


async def _post_all(stack: Stack, requests: list[tuple[dict[str, str], bytes]]) -> float:
    """POST every request with CONCURRENCY senders; return when the last 202 came back."""
    pending = iter(requests)

    async def sender() -> None:
        for headers, body in pending:
            r = await stack.http.post(stack.path, content=body, headers=headers)
            if r.status_code != 202:
                raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
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


async def _measure(client: Client, db_url: str) -> None:
    agent = CountingAgent(bench_agent_id())
    async with dispatching_stack(client, db_url, agent.agent_id, agent.think,
                                 limits=httpx.Limits(max_connections=CONCURRENCY)) as stack:
        default_ms = await stack.debounce(0)
        print(f"  API in its own process (relay on); one platform worker and ONE bench agent"
              f" worker (think answers at once) in this one; {EVENTS} events, each a new issue"
              f" (its own session; agent session_debounce_ms 0, default {default_ms}), posted by"
              f" {CONCURRENCY} concurrent senders after {WARMUP_EVENTS} warm-up", flush=True)
        await _through(stack, agent, WARMUP_EVENTS)
        started_wall = time.time()
        temporal_pids = _temporal_pids()
        api_cpu, own_cpu = stack.api.cpu_seconds(), time.process_time()
        temporal_cpu = _cpu_seconds(temporal_pids)
        deliveries, started, acked, last = await _through(stack, agent, EVENTS)
        events = [event_workflow_id(stack.tenant, "github", d) for d in deliveries]
        api_cpu = stack.api.cpu_seconds() - api_cpu
        own_cpu = time.process_time() - own_cpu
        temporal_cpu = _cpu_seconds(temporal_pids) - temporal_cpu
        begun, closed = await _times(client, events)
        sample = await asyncio.gather(*(
            _think_dispatch(client, run_workflow_id(e, agent.agent_id))
            for e in events[:: max(1, len(events) // HISTORY_SAMPLE)][:HISTORY_SAMPLE]))

    elapsed = last - started
    print(f"  first POST -> last 202:                     {acked - started:7.2f} s"
          f"  ({EVENTS / (acked - started):7.1f} webhooks/s accepted)")
    print(f"  first POST -> last EventWorkflow started:   {begun - started_wall:7.2f} s"
          f"  (the relay's pace)")
    print(f"  first POST -> last think completed:         {elapsed:7.2f} s"
          f"  ({EVENTS / elapsed:7.1f} events/s)")
    print(f"  first POST -> last EventWorkflow closed:    {closed - started_wall:7.2f} s"
          f"  ({EVENTS / (closed - started_wall):7.1f} events/s, outcome recorded)")
    print(f"  CPU over first POST -> last think, in cores ({os.cpu_count()} here): Temporal dev"
          f" server {temporal_cpu / elapsed:.2f}, this process (platform + agent workers,"
          f" senders) {own_cpu / elapsed:.2f}, API process {api_cpu / elapsed:.2f};"
          f" load average {os.getloadavg()[0]:.2f}")
    print("  think/1 dispatch (ActivityTaskScheduled -> started):")
    print(_line("  activity.info(), server clock, all runs", list(agent.dispatch.values())))
    print(_line("  scheduled -> running in the agent worker", list(agent.received.values())))
    print(_line(f"  from history, {len(sample)} sampled runs", sample))


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
