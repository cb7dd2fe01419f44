"""The no-op ceiling: what this Temporal server does with the cheapest workflow that starts,
schedules one activity and completes, driven at the pipeline's concurrency (issue #17, item 1).

The workflow and its activity live here, on their own task queue, served by their own worker in
the bench process; the client is the pipeline's (same server, same data converter).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from tests.bench.costs import CpuMeter
from tests.bench.costs import count as count_history
from tests.harness import running


class Noop:
    """The activity: answers at once, as the bench agent's think does, and notes when the
    expected number of answers is reached."""

    def __init__(self) -> None:
        self.answered = 0
        self.target = 0
        self.done = asyncio.Event()

    def expect(self, count: int) -> None:
        """Count ``count`` answers from now on."""
        self.answered, self.target = 0, count
        self.done.clear()

    @activity.defn(name="bench_noop")
    async def noop(self, n: int) -> int:
        """Answer ``n``."""
        self.answered += 1
        if self.answered >= self.target:
            self.done.set()
        return n


@workflow.defn(name="BenchNoopWorkflow", sandboxed=False)
class NoopWorkflow:
    """Start, one activity, complete."""

    @workflow.run
    async def run(self, n: int) -> int:
        """Schedule the one activity and return its answer."""
        return int(await workflow.execute_activity(
            "bench_noop", n, start_to_close_timeout=timedelta(seconds=30)))


async def ceiling(client: Client, count: int, concurrency: int, cpu: CpuMeter
                  ) -> tuple[float, dict[str, float], Counter[str]]:
    """Workflows per second, from the first start to the last activity answered (the pipeline's
    clock stops at the last think), with ``concurrency`` starters each awaiting its start; the
    CPU ``cpu`` saw over that run; what one such workflow's history holds."""
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    answers = Noop()
    async with running(Worker(client, task_queue=queue, workflows=[NoopWorkflow],
                              activities=[answers.noop])):
        await _drive(client, queue, answers, min(count, 10), concurrency)  # warm-up
        cpu.start()
        elapsed, handles = await _drive(client, queue, answers, count, concurrency)
        used = cpu.stop()
        await asyncio.gather(*(h.result() for h in handles))
    one = count_history((await handles[0].fetch_history()).events)
    return count / elapsed, used, one


async def _drive(client: Client, queue: str, answers: Noop, count: int, concurrency: int
                 ) -> tuple[float, list[WorkflowHandle[NoopWorkflow, int]]]:
    """Start ``count`` workflows with ``concurrency`` starters; seconds until the last activity
    answered (then, off the clock, wait for every workflow to complete)."""
    answers.expect(count)
    pending = iter(range(count))
    handles: list[WorkflowHandle[NoopWorkflow, int]] = []

    async def starter() -> None:
        for n in pending:
            handles.append(await client.start_workflow(
                NoopWorkflow.run, n, id=f"{queue}/{uuid.uuid4().hex}", task_queue=queue))

    started = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(concurrency)))
    await asyncio.wait_for(answers.done.wait(), 120)
    return time.perf_counter() - started, handles
