"""The design's floor: the Temporal steps one event takes, with nothing done in them (issue #17).

The pipeline's cost table says what an event holds (one EventWorkflow, its session's share, one
AgentRunWorkflow: three workflows started with search attributes, six workflow tasks, one
activity, seven local activities, four upserts, a signal-with-start, a child, a timer). These
three workflows take exactly those steps, in the same order, with every step's body empty: no
database, no embedding, no data of size. Driven like the no-op ceiling (tests/bench/ceiling.py),
through the same server and client, they tell what the design itself allows on this machine,
whatever our code does inside its steps: the pipeline can come no nearer the ceiling than this.

The same steps laid out other ways (``DESIGNS``: the think inline in the session instead of a
child run, no session, one workflow per event) price a design before it is built
(``--only steps`` prints them all beside the ceiling).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.worker import Worker

from tests.bench.ceiling import Noop, agent_queue, drive
from tests.bench.costs import CpuMeter, settled_history
from tests.bench.costs import count as count_history
from tests.harness import running
from workflows import policies, search

STEP = timedelta(seconds=30)
IDLE = timedelta(days=7)  # a session's default idle window: its timer, never fired here


@dataclass(frozen=True)
class Design:
    """How an event's work is laid out over workflows: a session per thread or none; the think
    in a child run or inline in the workflow above it."""

    name: str
    session: bool
    child: bool


TODAY = Design("event -> session -> child run (today)", session=True, child=True)
DESIGNS = (
    TODAY,
    Design("event -> session, think inline in the session", session=True, child=False),
    Design("event -> child run (an agent without sessions, today)", session=False, child=True),
    Design("event only, think inline (one workflow per event)", session=False, child=False),
)


@dataclass(frozen=True)
class Job:
    """What each skeleton workflow is given: where it runs, the tenant, the event's number, and
    its design's layout."""

    queue: str
    tenant: str
    n: int
    design: Design


class Steps:
    """The local activities (empty) and the one that does what submit_to_session does: a
    signal-with-start of the event's session, with the session's search attributes."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="skeleton_step")
    async def step(self, n: int) -> int:
        """Nothing (a database read or write in the pipeline)."""
        return n

    @activity.defn(name="skeleton_submit")
    async def submit(self, job: Job) -> None:
        """Start the session if none runs and signal it the message."""
        queue, tenant, n = job.queue, job.tenant, job.n
        await self.client.start_workflow(
            "SkeletonSession", queue, id=f"{queue}/session/{n}", task_queue=queue,
            start_signal="message", start_signal_args=[job],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            priority=policies.SESSION_PRIORITY,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(search.TENANT, tenant),
                SearchAttributePair(search.AGENT, "skeleton"),
                SearchAttributePair(search.THREAD, f"thread/{n}"),
                SearchAttributePair(search.STATUS, "waiting")]))


def _local(name: str, arg: object) -> workflow.ActivityHandle[object]:
    return workflow.start_local_activity(name, arg, start_to_close_timeout=STEP)


@workflow.defn(name="SkeletonEvent", sandboxed=False)
class SkeletonEvent:
    """EventWorkflow's steps: prepare, remember beside it, submit, upsert, record."""

    @workflow.run
    async def run(self, job: Job) -> None:
        """One workflow task: four local activities and an upsert, then complete; without a
        session, the run (or its think) in between."""
        remembered = _local("skeleton_step", job.n)
        await _local("skeleton_step", job.n)  # prepare
        if job.design.session:
            await _local("skeleton_submit", job)
        workflow.upsert_search_attributes([search.STATUS.value_set("dispatched")])
        if not job.design.session:
            await _think(job)
        await _local("skeleton_step", job.n)  # record the outcome
        await remembered


@workflow.defn(name="SkeletonSession", sandboxed=False)
class SkeletonSession:
    """SessionWorkflow's share of one event: a turn (upsert, row, run, upsert, row) and the idle
    timer it waits on after."""

    def __init__(self) -> None:
        self.pending: list[Job] = []

    @workflow.signal(name="message")
    def message(self, job: Job) -> None:
        """A message for the next turn."""
        self.pending.append(job)

    @workflow.run
    async def run(self, queue: str) -> None:
        """Answer the first message, then wait idle (the bench ends before the timer)."""
        await workflow.wait_condition(lambda: bool(self.pending))
        job = self.pending.pop()
        workflow.upsert_search_attributes([search.STATUS.value_set("running"),
                                           search.SESSION.value_set(f"ses_{job.n}")])
        await _local("skeleton_step", job.n)  # session and turn rows
        await _think(job)
        workflow.upsert_search_attributes([search.STATUS.value_set("waiting")])
        await _local("skeleton_step", job.n)  # turn row, outcomes, status
        await workflow.wait_condition(lambda: bool(self.pending), timeout=IDLE)


async def _think(job: Job) -> None:
    """The think: a child run, or inline here (its usage and status with it)."""
    if job.design.child:
        await workflow.execute_child_workflow(
            SkeletonRun.run, job, id=f"{workflow.info().workflow_id}/run",
            search_attributes=search.run_attributes(  # a session's turn names its session
                job.tenant, "skeleton", "new_work_item", None,
                f"ses_{job.n}" if job.design.session else None),
            priority=policies.RUN_PRIORITY)
    else:
        await SkeletonRun.think(job)


@workflow.defn(name="SkeletonRun", sandboxed=False)
class SkeletonRun:
    """AgentRunWorkflow's steps: the think on the agent's queue, usage, status."""

    @workflow.run
    async def run(self, job: Job) -> None:
        """The think, then complete."""
        await self.think(job)

    @staticmethod
    async def think(job: Job) -> None:
        """The one activity (the ceiling's, answered by the same worker), usage, status."""
        await workflow.execute_activity("bench_noop", job.n, task_queue=agent_queue(job.queue),
                                        start_to_close_timeout=STEP)
        await _local("skeleton_step", job.n)  # usage
        workflow.upsert_search_attributes([search.STATUS.value_set("answered")])


async def skeleton(client: Client, count: int, concurrency: int, cpu: CpuMeter, tenant: str,
                   design: Design = TODAY) -> tuple[float, dict[str, float], Counter[str]]:
    """Events a second through the skeleton of ``design``, timed as the ceiling is (first start
    -> last activity answered); the CPU ``cpu`` saw; what one event's histories hold."""
    queue = f"bench-skeleton-{uuid.uuid4().hex[:8]}"
    answers, steps = Noop(), Steps(client)
    attributes = TypedSearchAttributes([SearchAttributePair(search.TENANT, tenant),
                                        SearchAttributePair(search.STATUS, "received")])

    def start(n: int) -> Awaitable[WorkflowHandle[Any, Any]]:  # as the relay starts an event
        return client.start_workflow(
            SkeletonEvent.run, Job(queue, tenant, n, design),
            id=f"{queue}/event/{n}", task_queue=queue, search_attributes=attributes)

    warmup = min(count, 10)
    async with (running(Worker(client, task_queue=queue,
                               workflows=[SkeletonEvent, SkeletonSession, SkeletonRun],
                               activities=[steps.step, steps.submit])),
                running(Worker(client, task_queue=agent_queue(queue), activities=[answers.noop]))):
        await drive(answers, range(warmup), concurrency, start)
        cpu.start()
        elapsed, handles = await drive(answers, range(warmup, warmup + count), concurrency, start)
        used = cpu.stop()
        await asyncio.gather(*(h.result() for h in handles))
        event = f"{queue}/event/{warmup}"
        above = f"{queue}/session/{warmup}" if design.session else event
        one: Counter[str] = Counter()
        for workflow_id in {event, above, *([f"{above}/run"] if design.child else [])}:
            one += count_history(await settled_history(client.get_workflow_handle(workflow_id)))
    return count / elapsed, used, one
