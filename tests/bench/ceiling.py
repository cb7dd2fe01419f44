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
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

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
    """Start, one activity on the agent's queue (its own, as a think's is), complete."""

    @workflow.run
    async def run(self, n: int) -> int:
        """Schedule the one activity and return its answer."""
        return int(await workflow.execute_activity(
            "bench_noop", n, task_queue=agent_queue(workflow.info().task_queue),
            start_to_close_timeout=timedelta(seconds=30)))


def agent_queue(queue: str) -> str:
    """The queue the activity of a bench workflow on ``queue`` runs on: another worker's, as an
    agent's think is never on the platform's queue (so no eager activity start either)."""
    return f"{queue}-agent"


async def ceiling(client: Client, count: int, concurrency: int, cpu: CpuMeter
                  ) -> tuple[float, dict[str, float], Counter[str]]:
    """Workflows per second, from the first start to the last activity answered (the pipeline's
    clock stops at the last think), with ``concurrency`` starters each awaiting its start; the
    CPU ``cpu`` saw over that run; what one such workflow's history holds."""
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    answers = Noop()

    def start(n: int) -> Awaitable[WorkflowHandle[Any, Any]]:
        return client.start_workflow(NoopWorkflow.run, n, id=f"{queue}/{uuid.uuid4().hex}",
                                     task_queue=queue)

    async with (running(Worker(client, task_queue=queue, workflows=[NoopWorkflow])),
                running(Worker(client, task_queue=agent_queue(queue), activities=[answers.noop]))):
        await drive(answers, range(min(count, 10)), concurrency, start)  # warm-up
        cpu.start()
        elapsed, handles = await drive(answers, range(count), concurrency, start)
        used = cpu.stop()
        await asyncio.gather(*(h.result() for h in handles))
    one = count_history((await handles[0].fetch_history()).events)
    return count / elapsed, used, one


async def drive(answers: Noop, numbers: range, concurrency: int,
                start: Callable[[int], Awaitable[WorkflowHandle[Any, Any]]]
                ) -> tuple[float, list[WorkflowHandle[Any, Any]]]:
    """Start a workflow for each of ``numbers`` with ``concurrency`` starters, each awaiting
    its start; seconds until the last activity answered (then, off the clock, wait for every
    workflow to complete)."""
    answers.expect(len(numbers))
    pending = iter(numbers)
    handles: list[WorkflowHandle[Any, Any]] = []

    async def starter() -> None:
        for n in pending:
            handles.append(await start(n))

    started = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(concurrency)))
    await asyncio.wait_for(answers.done.wait(), 120)
    return time.perf_counter() - started, handles
