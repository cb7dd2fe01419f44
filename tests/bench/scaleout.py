"""Scale-out: the pipeline with two API processes (each with its relay) and two platform worker
processes against one Temporal server, beside one of each (issue #17, item 4).

Both shapes run one after the other in this process, each on a fresh stack (its own tenant,
platform queue and processes) against the same Temporal dev server and PostgreSQL, driven as
the pipeline bench drives one (tests/bench/pipeline.py, ``measured``): ``EVENTS`` new-issue
webhooks from the same concurrent senders, spread round-robin over the APIs, the clock from
the first POST to the last think completed. For each shape: events/s, the CPU each process used
over that clock (cores, ms per event), think dispatch (scheduled -> started, server clock) p50
and p99, and which process is nearest to a full core. A process cannot use more than one core
for long (Python's GIL; the Temporal dev server is one Go process, which can), and this machine
has only ``os.cpu_count()`` cores shared by every process: the verdict says when the machine,
not one process, is what is full.

Two relays side by side are safe: each claims inbox rows with ``FOR UPDATE SKIP LOCKED`` in a
transaction held over its starts and marks them relayed before committing (infra/inbox), so a
row is started by one relay; only a start whose commit was lost (a crash, a timed-out RPC that
did start) is started again, which the event's workflow id turns into a no-op (one more start
RPC, nothing in the history). The table says how many events each relay started.

The last line: ``RESULT scaleout one_per_s=<x> two_per_s=<y> ratio=<y/x>``. Figures only.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass

from temporalio.client import Client

from tests.bench.pipeline import EVENTS, OWN, measured
from tests.bench.serve import Served
from tests.bench.stack import temporal
from tests.bench.stats import heading, percentile
from workflows.ids import event_workflow_id

ROWS = ("API 1", "API 2", "platform worker 1", "platform worker 2", "Temporal server",
        "PostgreSQL", OWN)
FULL = 0.85  # of a core: a Python process this busy is the bottleneck


@dataclass(frozen=True)
class Shape:
    """What one shape measured."""

    name: str
    events: int
    elapsed: float
    cores: dict[str, float]  # ROWS name -> CPU seconds / elapsed
    dispatch: list[float]  # think scheduled -> started, seconds
    machine: float  # cores the whole machine was busy (every process, the stack's or not)
    relays: Counter[str]  # which API process's relay started each EventWorkflow
    load: float  # 1-minute load average when it ended

    @property
    def rate(self) -> float:
        """Events per second, first POST -> last think."""
        return self.events / self.elapsed


async def bench_scaleout(db_url: str, events: int = EVENTS) -> None:
    """Measure 1 API x 1 worker, then 2 APIs x 2 workers; print them side by side."""
    heading("Scale-out: 1 API x 1 platform worker, then 2 APIs x 2 platform workers")
    env = await temporal()
    try:
        one = await _shape(env.client, db_url, events, 1)
        two = await _shape(env.client, db_url, events, 2)
    finally:
        await env.shutdown()
    _report(one, two)
    print(f"RESULT scaleout one_per_s={one.rate:.1f} two_per_s={two.rate:.1f}"
          f" ratio={two.rate / one.rate:.2f}", flush=True)


async def _shape(client: Client, db_url: str, count: int, n: int) -> Shape:
    """``n`` APIs x ``n`` platform workers on a fresh stack."""
    print(f"  -- {n} API x {n} platform worker --", flush=True)
    async with measured(client, db_url, count, apis=n, workers=n) as run:
        single = {"API": "API 1", "platform worker": "platform worker 1"}  # names when n = 1
        cores = {single.get(name, name): seconds / run.elapsed
                 for name, seconds in run.used.items()}
        dispatch = list(run.agent.dispatch.values())
        load = os.getloadavg()[0]
        relays = await _relays(client, [event_workflow_id(run.stack.tenant, "github", d)
                                        for d in run.deliveries], run.stack.apis)
    return Shape(f"{n} x {n}", count, run.elapsed, cores, dispatch, run.machine / run.elapsed,
                 relays, load)


async def _relays(client: Client, event_ids: list[str], apis: tuple[Served, ...]
                  ) -> Counter[str]:
    """Which API's relay started each EventWorkflow: the identity (``pid@host``) its
    WorkflowExecutionStarted event records."""
    names = {str(api.pid): f"API {i}" for i, api in enumerate(apis, 1)}
    gate = asyncio.Semaphore(16)

    async def starter(workflow_id: str) -> str:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        identity = history.events[0].workflow_execution_started_event_attributes.identity
        return names.get(identity.split("@", 1)[0], identity)

    return Counter(await asyncio.gather(*map(starter, event_ids)))


def _report(one: Shape, two: Shape) -> None:
    shapes = (one, two)
    print(f"  {'':<40}" + "".join(f"{s.name + ' (APIs x workers)':>28}" for s in shapes))
    print(f"  {'events':<40}" + "".join(f"{s.events:>28}" for s in shapes))
    print(f"  {'events/s (first POST -> last think)':<40}"
          + "".join(f"{s.rate:>28.1f}" for s in shapes))
    for q in (50, 99):
        print(f"  {f'think dispatch p{q} (scheduled -> started)':<40}"
              + "".join(f"{percentile(s.dispatch, q) * 1000:>25.1f} ms" for s in shapes))
    print(f"  CPU over first POST -> last think ({os.cpu_count()} cores here; load average"
          f" {one.load:.2f} after 1 x 1, {two.load:.2f} after 2 x 2):")
    print(f"  {'':<40}" + "".join(f"{'cores':>14}{'ms/event':>14}" for _ in shapes))
    for row in (*ROWS, "all"):
        cells = ""
        for s in shapes:
            cores = sum(s.cores.values()) if row == "all" else s.cores.get(row)
            cells += (f"{'-':>14}{'-':>14}" if cores is None else
                      f"{cores:>14.2f}{cores * s.elapsed / s.events * 1000:>14.2f}")
        print(f"    {row:<38}{cells}")
    print(f"    {'the machine (every process, ours or not)':<38}"
          + "".join(f"{s.machine:>14.2f}{'':>14}" for s in shapes))
    print(f"  {'EventWorkflows started by each relay':<40}" + "".join(
        f"{', '.join(f'{k} {v}' for k, v in sorted(s.relays.items())):>28}" for s in shapes))
    for s in shapes:
        print(f"  verdict {s.name}: {_verdict(s)}")


def _verdict(shape: Shape) -> str:
    """Which process is nearest to a full core, and whether the machine itself is full."""
    busiest = max(shape.cores, key=shape.cores.__getitem__)
    cores = shape.cores[busiest]
    ours, machine = sum(shape.cores.values()), os.cpu_count() or 1
    full = shape.machine >= 0.9 * machine
    where = (f"the machine is full ({shape.machine:.2f} of {machine} cores busy, {ours:.2f} of"
             f" them this stack's)" if full else
             f"{shape.machine:.2f} of {machine} cores busy, {ours:.2f} of them this stack's")
    if cores >= FULL:
        return f"{busiest} ({cores:.2f} cores) is the bottleneck; {where}"
    if full:
        return (f"{where}: no one process is near a full core (busiest: {busiest},"
                f" {cores:.2f}); the processes wait for the cores")
    return f"no process near a full core (busiest: {busiest}, {cores:.2f}); {where}"
