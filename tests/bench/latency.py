"""Latency from webhook received to the agent's think activity started, through the real stack.

Each event is a new GitHub issue, so its own thread and session. The measured events go to the
agent with ``session_debounce_ms`` 0 (set through the admin API): with the default window the
think waits for the burst to end, which is a setting, not the path's latency; a short pass with
the default window follows and is printed beside it.

With ``background`` (``--background R``), other new-issue deliveries are posted open loop at R a
second to the same agent the whole time the events are measured, as a busy tenant's traffic is
(issue #17: received -> think p99 at 10 events/s of background load); printed beside the
figures: the background rate reached and how many of its events had thought by the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

from temporalio import activity
from temporalio.client import Client

from tests.bench import history
from tests.bench.stack import Stack, bench_agent_id, dispatching_stack, temporal
from tests.bench.stats import heading, ms, percentile, verdict
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import event_workflow_id, run_workflow_id
from workflows.names import THINK_ACTIVITY

TARGET_P99 = 0.100
WARMUP_EVENTS = 10
DEBOUNCED_EVENTS = 10  # the pass with the agent's default debounce (about 2 s each)
THINK_WITHIN = 30.0
THINK_WITHIN_LOADED = 600.0  # with background load a backlog may build up; report it, not fail


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


async def _one(stack: Stack, agent: TimedAgent, within: float = THINK_WITHIN) -> Sample:
    delivery = str(uuid.uuid4())
    headers, body = stack.issues.signed(delivery)  # signed before the clock starts
    thought = agent.expect(
        run_workflow_id(event_workflow_id(stack.tenant, "github", delivery), agent.agent_id))
    sent = time.perf_counter()
    r = await stack.http.post(stack.path, content=body, headers=headers)
    acked, acked_wall = time.perf_counter(), time.time()
    if r.status_code != 202:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")
    try:
        think, think_wall = await asyncio.wait_for(thought, within)
    except TimeoutError:
        raise RuntimeError(f"no think started {within:g} s after delivery {delivery}:"
                           f" is the stack dispatching? ({r.text})") from None
    return Sample(delivery, sent, acked, think, acked_wall, think_wall)


async def bench_latency(db_url: str, events: int, background: float = 0.0) -> bool:
    """Send ``events`` webhooks one after another, with ``background`` other deliveries a second
    posted meanwhile; print received-to-think percentiles."""
    load = f", {background:g} events/s of background load" if background else ""
    heading(f"Latency: webhook received -> agent think activity started{load}")
    env = await temporal()
    try:
        return await _measure(env.client, db_url, events, background)
    finally:
        await env.shutdown()


class Background:
    """New-issue deliveries posted open loop at ``rate`` a second until stopped; the run ids of
    those answered 202, to count how many the agent has thought."""

    def __init__(self, stack: Stack, agent: TimedAgent, rate: float) -> None:
        self.stack, self.agent, self.rate = stack, agent, rate
        self.runs: list[str] = []
        self.sent = 0
        self.seconds = 0.0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Post until ``stop``; each POST is its own task, so a slow answer delays no other."""
        posts: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        while not self._stop.is_set():
            task = asyncio.create_task(self._post(str(uuid.uuid4())))
            posts.add(task)
            task.add_done_callback(posts.discard)
            self.sent += 1
            delay = started + self.sent / self.rate - time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(delay, 0))
        self.seconds = time.perf_counter() - started
        await asyncio.gather(*posts)

    async def _post(self, delivery: str) -> None:
        headers, body = self.stack.issues.signed(delivery)
        r = await self.stack.http.post(self.stack.path, content=body, headers=headers)
        if r.status_code == 202:
            run = run_workflow_id(event_workflow_id(self.stack.tenant, "github", delivery),
                                  self.agent.agent_id)
            self.agent.expect(run)
            self.runs.append(run)

    def stop(self) -> None:
        """Stop posting (``run`` returns once the posts in flight are answered)."""
        self._stop.set()

    def thought(self) -> int:
        """How many of the background events' thinks have started."""
        return sum(self.agent.expect(run).done() for run in self.runs)


async def _measure(client: Client, db_url: str, events: int, background: float) -> bool:
    agent = TimedAgent(bench_agent_id())
    async with dispatching_stack(client, db_url, agent.agent_id, agent.think) as stack:
        default_ms = await stack.debounce(0)
        print(f"  API in its own process (relay on); platform worker and a bench agent"
              f" worker in this one; {events} sequential events, each a new issue (its own"
              f" session), after {WARMUP_EVENTS} warm-up; agent session_debounce_ms 0"
              f" (default {default_ms}); t0 just before the POST", flush=True)
        for _ in range(WARMUP_EVENTS):
            await _one(stack, agent)
        if background:
            load = Background(stack, agent, background)
            sending = asyncio.create_task(load.run())
            samples = [await _one(stack, agent, THINK_WITHIN_LOADED) for _ in range(events)]
            load.stop()
            await sending
            print(f"  background: {load.sent} deliveries in {load.seconds:.1f} s"
                  f" ({load.sent / load.seconds:.1f}/s, asked {background:g}/s), same agent;"
                  f" {load.thought()} of the {len(load.runs)} accepted had thought when the"
                  f" last measured event had", flush=True)
        else:
            samples = [await _one(stack, agent) for _ in range(events)]
        paths = [await history.critical_path(client, event_id,
                                             run_workflow_id(event_id, agent.agent_id))
                 for event_id in (event_workflow_id(stack.tenant, "github", s.delivery)
                                  for s in samples)]
        await stack.debounce(default_ms)
        debounced = [await _one(stack, agent) for _ in range(DEBOUNCED_EVENTS)]
    ok = _report(samples, paths)
    print(_line(f"with the default debounce ({default_ms} ms), {DEBOUNCED_EVENTS} events",
                [s.think - s.sent for s in debounced]))
    return ok


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
    print(verdict(f"p99 received -> think < {TARGET_P99 * 1000:.0f} ms (debounce 0)", ok, detail))
    return ok
