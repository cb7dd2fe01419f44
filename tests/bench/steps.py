"""What one Temporal step costs here, in CPU of the Python worker and of the server (issue #17).

The pipeline bench says what an event holds (workflows, workflow tasks, local activities,
upserts); this one prices each kind of step, so a change can be weighed before it is made. Small
workflows, each adding one kind of step to the bare one (start, one workflow task, complete),
are driven by a few concurrent starters through the bench's Temporal dev server to a worker in
this process, unsandboxed as the platform runs its workflows; one more shape is the bare
workflow started eagerly. Each shape runs twice, alternating; a step's price is its shape's CPU
per workflow minus that of the shape it builds on (``SHAPES``), divided by the steps added.

Then whole layouts (``bench_designs``): an event's steps, empty, laid out as today and three other
ways (tests/bench/skeleton.py), beside the no-op ceiling, all in one dev server started for them.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.bench.ceiling import ceiling
from tests.bench.costs import CpuMeter, temporal_pid
from tests.bench.skeleton import DESIGNS, skeleton
from tests.bench.stack import temporal
from tests.bench.stats import heading
from tests.harness import running
from workflows import search

WORKFLOWS = 300  # per shape and round
CONCURRENCY = 8
STEPS = 3  # steps of its kind each shape adds
OWN = "Python worker + client"
SERVER = "Temporal server"
CEILING = "no-op ceiling: start, one activity, complete"


@activity.defn(name="bench_step")
async def step(n: int) -> int:
    """Answer at once."""
    return n


@workflow.defn(name="BenchStepsWorkflow", sandboxed=False)
class StepsWorkflow:
    """The bare workflow plus ``STEPS`` steps of one kind."""

    @workflow.run
    async def run(self, shape: str) -> str:
        """Take the steps ``shape`` names, then complete."""
        for i in range(SHAPES[shape][2]):
            if shape in ("local activity", "upsert"):
                if shape == "upsert":
                    workflow.upsert_search_attributes([search.STATUS.value_set(f"step {i}")])
                await workflow.execute_local_activity(
                    step, i, start_to_close_timeout=timedelta(seconds=30))
            elif shape == "activity":
                await workflow.execute_activity(
                    step, i, start_to_close_timeout=timedelta(seconds=30))
            elif shape == "child workflow":
                await workflow.execute_child_workflow(StepsWorkflow.run, "bare")
        return shape


# shape -> (what one step of it is, the shape whose cost it adds to, steps of it per workflow)
SHAPES: dict[str, tuple[str, str | None, int]] = {
    "bare": ("a workflow: start, one workflow task, complete", None, 0),
    "local activity": ("a local activity (a marker)", "bare", STEPS),
    "upsert": ("a search-attribute upsert", "local activity", STEPS),
    "activity": ("an activity task and the workflow task after it", "bare", STEPS),
    "child workflow": ("a child workflow (a bare one, and two workflow tasks of the parent)",
                       "bare", STEPS),
    "eager": ("the bare workflow started eagerly (first task in the start's answer)",
              "bare", 1),
}


async def bench_steps() -> None:
    """Print each step's CPU in the Python worker and the server."""
    heading("Steps: what one Temporal step costs (CPU ms, worker in this process)")
    async with await temporal() as env:
        cpu = CpuMeter({OWN: os.getpid(), SERVER: temporal_pid()}, own=OWN)
        queue = f"bench-steps-{uuid.uuid4().hex[:8]}"
        async with running(Worker(env.client, task_queue=queue, workflows=[StepsWorkflow],
                                  activities=[step], workflow_runner=UnsandboxedWorkflowRunner())):
            await _drive(env.client, queue, "bare", 30)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {shape: [] for shape in SHAPES}
            for _ in range(2):
                for shape in SHAPES:
                    cpu.start()
                    eager = shape == "eager"  # the bare workflow, started eagerly
                    per_s = await _drive(env.client, queue, "bare" if eager else shape,
                                         WORKFLOWS, eager=eager)
                    used = cpu.stop()
                    runs[shape].append({name: used[name] / WORKFLOWS * 1000 for name in used}
                                       | {"per_s": per_s})
    print(f"  {WORKFLOWS} workflows per shape and round, {CONCURRENCY} concurrent starters,"
          f" 2 rounds; each shape adds {STEPS} steps of its kind (eager: the bare one, started"
          " eagerly, so a negative figure is what it saves)")
    print(f"  {'one step':68} {'worker ms':>9} {'server ms':>9}")
    for shape, (what, base, steps) in SHAPES.items():
        mean = {name: sum(r[name] for r in runs[shape]) / 2 for name in (OWN, SERVER)}
        if base is None:
            rate = sum(r["per_s"] for r in runs[shape]) / 2
            print(f"  {what:68} {mean[OWN]:9.2f} {mean[SERVER]:9.2f}  ({rate:.0f} workflows/s)")
            continue
        under = {name: sum(r[name] for r in runs[base]) / 2 for name in (OWN, SERVER)}
        added = {name: (mean[name] - under[name]) / steps for name in (OWN, SERVER)}
        print(f"  {what:68} {added[OWN]:9.2f} {added[SERVER]:9.2f}")
    await bench_designs()


async def bench_designs() -> None:
    """Print what an event costs laid out each way (tests/bench/skeleton.py: the pipeline's
    steps, empty), beside the no-op ceiling driven the same way in the same server."""
    heading("Designs: an event's steps laid out over workflows, empty (CPU ms per event)")
    async with await temporal() as env:
        cpu = CpuMeter({OWN: os.getpid(), SERVER: temporal_pid()}, own=OWN)
        figures: dict[str, list[tuple[float, dict[str, float]]]] = {}
        held: dict[str, Counter[str]] = {}
        for _ in range(2):
            per_s, used, held[CEILING] = await ceiling(env.client, WORKFLOWS, CONCURRENCY, cpu)
            figures.setdefault(CEILING, []).append((per_s, used))
            for design in DESIGNS:
                per_s, used, held[design.name] = await skeleton(
                    env.client, WORKFLOWS, CONCURRENCY, cpu, "bench", design)
                figures.setdefault(design.name, []).append((per_s, used))
    print(f"  {WORKFLOWS} events per design and round, {CONCURRENCY} concurrent starters, 2"
          " rounds; workers in this process; every step empty (no database, no embedding)")
    print(f"  {'design':58} {'events/s':>8} {'ratio':>6} {'worker':>7} {'server':>7}"
          f" {'workflows':>9} {'tasks':>5} {'history':>7}")
    top = sum(r for r, _ in figures[CEILING]) / 2
    for name, rounds in figures.items():
        rate = sum(r for r, _ in rounds) / 2
        mean = {k: sum(u[k] for _, u in rounds) / 2 / WORKFLOWS * 1000 for k in (OWN, SERVER)}
        one = held[name]
        print(f"  {name:58} {rate:8.1f} {rate / top:6.2f} {mean[OWN]:7.1f} {mean[SERVER]:7.1f}"
              f" {one['workflows']:9g} {one['workflow tasks']:5g} {one['history events']:7g}")


async def _drive(client: Client, queue: str, shape: str, count: int, *, eager: bool = False
                 ) -> float:
    """Run ``count`` workflows of ``shape`` to completion; workflows a second. ``eager``: each
    start asks for eager start (this worker shares the client, so the server may answer the
    start with the first workflow task instead of queueing it)."""
    pending = iter(range(count))

    async def starter() -> None:
        for _ in pending:
            await client.execute_workflow(StepsWorkflow.run, shape, task_queue=queue,
                                          id=f"{queue}/{uuid.uuid4().hex}",
                                          request_eager_start=eager)

    started = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)
