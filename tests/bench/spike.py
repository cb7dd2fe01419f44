"""A spike: thousands of signed webhooks at a fixed rate, with the whole pipeline running behind.

The real stack of tests/bench/pipeline.py: a Temporal dev server (on a SQLite file, as
``switchboard up`` runs it), the API with its relay and the platform worker (``switchboard
worker``) each in its own process, and ONE agent worker whose think answers at once, in this
one (agent ``session_debounce_ms`` 0). ``EVENTS`` (``--events``) signed GitHub
``issues.opened`` deliveries, each a new issue, are signed and serialized to raw HTTP/1.1 before
the clock starts, then sent OPEN-LOOP at ``RATE`` (``--rate``) a second over ``CONNECTIONS``
keep-alive connections (tests/bench/load.py ``open_loop``): acknowledgement latency runs from
each request's scheduled time to its response, so a door that falls behind shows in it. Printed:
the send rate really reached, acknowledgement p50/p99/max, statuses, how many answers came later
than GitHub's 10 s, and each process' CPU while sending. The sender is not the limit: against a
server that answers 202 at once it sent 6,000 of these 13.5 KB requests at 2,000/s (p99 5 ms
behind schedule) with 27% of a core.

While sending and while the backlog drains, every 0.5 s: the API process' resident memory, and
the latency of an admin read that touches the database (``GET /admin/tenants/{t}/events``).
Drain: from the first send to the last think of an acknowledged delivery (progress every 10 s).

Then what became of each delivery, counted from PostgreSQL and Temporal: accepted = deliveries
with an inbox row; lost = acknowledged (202) but no inbox row, no EventWorkflow in Temporal's
visibility, or no think; twice = more than one inbox row, EventWorkflow or AgentRunWorkflow
execution, or more than one think call, for one delivery. The last line:
``RESULT spike sent=<n> accepted=<n> lost=<n> twice=<n> ack_p99_ms=<x> drain_s=<x>``.

Figures only; nothing here is a target or an assertion.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import tempfile
import time
import uuid
from collections import Counter

import asyncpg
from temporalio import activity
from temporalio.client import Client

from infra import database
from tests.bench.costs import CpuMeter, postmaster_pid, temporal_pid
from tests.bench.load import OpenLoopResult, open_loop, raw_request
from tests.bench.pipeline import CountingAgent
from tests.bench.spike_watch import Watch, print_watch, summary
from tests.bench.stack import Stack, bench_agent_id, dispatching_stack, temporal
from tests.bench.stats import heading, percentile
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import event_workflow_id, run_workflow_id
from workflows.names import THINK_ACTIVITY

EVENTS = 20_000  # --events
RATE = 2_000.0  # --rate, deliveries a second
CONNECTIONS = 128
WARMUP_EVENTS = 10
PROGRESS_EVERY = 10.0
GITHUB_TIMEOUT = 10.0  # s: GitHub counts a delivery not answered within this as failed


class OnceAgent(CountingAgent):
    """``CountingAgent`` that also counts every think call per run (a retry shows as two)."""

    def __init__(self, agent_id: str) -> None:
        """No calls yet."""
        super().__init__(agent_id)
        self.calls: Counter[str] = Counter()

    def expect(self, run_ids: set[str]) -> None:
        """Count the thinks (and calls) of these runs from now on."""
        super().expect(run_ids)
        self.calls = Counter()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Count the call, then answer as ``CountingAgent`` does."""
        self.calls[inp.run_id] += 1
        return await CountingAgent.think(self, inp)


async def bench_spike(db_url: str, events: int = EVENTS, rate: float = RATE) -> None:
    """Send ``events`` webhooks at ``rate`` a second; print acknowledgement, memory, admin
    latency, drain time, what was lost or done twice, and the RESULT line."""
    heading(f"Spike: {events} webhooks at {rate:g}/s, open loop, with the pipeline running")
    with tempfile.TemporaryDirectory(prefix="switchboard-spike-") as data:
        env = await temporal(os.path.join(data, "temporal.db"))
        try:
            await _measure(env.client, db_url, events, rate)
        finally:
            await env.shutdown()


async def _warm_up(stack: Stack, agent: OnceAgent) -> None:
    deliveries = [str(uuid.uuid4()) for _ in range(WARMUP_EVENTS)]
    agent.expect({_run(stack, d) for d in deliveries})
    for d in deliveries:
        headers, body = stack.issues.signed(d)
        (await stack.http.post(stack.path, content=body, headers=headers)).raise_for_status()
    started = time.perf_counter()
    await asyncio.wait_for(agent.all_done.wait(), 300)
    print(f"  warm-up: {WARMUP_EVENTS} events thought in {time.perf_counter() - started:.1f} s",
          flush=True)


def _run(stack: Stack, delivery: str) -> str:
    return run_workflow_id(event_workflow_id(stack.tenant, "github", delivery), stack.agent_id)


async def _drain(stack: Stack, agent: OnceAgent, pool: asyncpg.Pool, runs: set[str],
                 started: float, within: float) -> bool:
    """Wait until every run in ``runs`` thought, printing progress; False on timeout."""
    last_print, last_done = started, 0
    while True:
        done = len(runs & agent.finished.keys())
        now = time.perf_counter()
        if done == len(runs) or now - started > within:
            return done == len(runs)
        if now - last_print >= PROGRESS_EVERY:
            waiting = await pool.fetchval("SELECT count(*) FROM inbox WHERE relayed_at IS NULL"
                                          " AND tenant_id = $1", stack.tenant)
            print(f"  {now - started:6.0f} s  thinks {done}/{len(runs)}  inbox rows not yet"
                  f" started {waiting}  {(done - last_done) / (now - last_print):6.1f} events/s",
                  flush=True)
            last_print, last_done = now, done
        await asyncio.sleep(0.2)


async def _executions(client: Client, workflow_type: str, tenant: str) -> tuple[int, Counter[str]]:
    """Visibility's count of a type's executions for the tenant, and executions per id."""
    query = f"WorkflowType = '{workflow_type}' AND SwitchboardTenant = '{tenant}'"
    counted = (await client.count_workflows(query)).count
    return counted, Counter([w.id async for w in client.list_workflows(query)])


def _print_send(sent: OpenLoopResult, rate: float, used: dict[str, float]) -> list[float]:
    """Print what the sender reached, the acknowledgements and the CPU while sending; the
    acknowledgement latencies."""
    lag = [s - d for s, d in zip(sent.sent, sent.scheduled, strict=True)]
    acks = [x for x in sent.latencies if not math.isnan(x)]
    statuses = Counter(sent.statuses)
    answered = max(d + x for d, x in zip(sent.scheduled, sent.latencies, strict=True)
                   if not math.isnan(x)) - min(sent.sent) if acks else math.nan
    print(f"  sent {len(sent.sent)} at {sent.send_rate:.0f}/s (asked {rate:g}/s) over"
          f" {CONNECTIONS} connections; client CPU {sent.client_cpu:.0%} of a core; first send"
          f" -> last answer {answered:.2f} s ({len(acks) / answered:.0f} answers/s)")
    print(summary("send behind schedule", lag))
    print(summary("acknowledgement (scheduled -> response)", acks))
    print(f"  answered after more than {GITHUB_TIMEOUT:g} s (GitHub would count them failed):"
          f" {sum(x > GITHUB_TIMEOUT for x in acks)}")
    print("  CPU while sending, cores: " + ", ".join(f"{k} {v / answered:.2f}"
                                                   for k, v in used.items()))
    print("  statuses: " + ", ".join(f"{s or 'connection error'}: {n}"
                                     for s, n in sorted(statuses.items()))
          + "".join(f"; {k} x{n}" for k, n in sent.errors.items()))
    return acks


@dataclasses.dataclass
class Fate:
    """What PostgreSQL and Temporal hold for the spike's deliveries."""

    rows: dict[str, int]  # delivery -> inbox rows
    statuses: dict[str, int]  # events rows by status
    event_count: int  # visibility: EventWorkflow executions of the tenant (warm-up included)
    events: Counter[str]  # EventWorkflow executions per workflow id
    run_count: int
    runs: Counter[str]  # AgentRunWorkflow executions per workflow id


async def _fate(client: Client, pool: asyncpg.Pool, tenant: str, deliveries: list[str]) -> Fate:
    rows = dict(await pool.fetch(
        "SELECT dedup_key, count(*) FROM inbox WHERE tenant_id = $1 AND provider = 'github'"
        " AND dedup_key = ANY($2::text[]) GROUP BY dedup_key", tenant, deliveries))
    statuses = dict(await pool.fetch(
        "SELECT e.status, count(*) FROM inbox i JOIN events e ON e.inbox_id = i.id"
        " WHERE i.tenant_id = $1 AND i.dedup_key = ANY($2::text[]) GROUP BY e.status",
        tenant, deliveries))
    event_count, events = await _executions(client, "EventWorkflow", tenant)
    run_count, runs = await _executions(client, "AgentRunWorkflow", tenant)
    return Fate(rows, statuses, event_count, events, run_count, runs)


async def _measure(client: Client, db_url: str, count: int, rate: float) -> None:
    agent = OnceAgent(bench_agent_id())
    pool = await database.create_pool(db_url, min_size=1, max_size=2)
    backend = int(await pool.fetchval("SELECT pg_backend_pid()"))
    async with dispatching_stack(client, db_url, agent.agent_id, agent.think,
                                 worker_process=True) as stack:
        default_ms = await stack.debounce(0)
        print(f"  API (relay on) and platform worker each in its own process; ONE bench agent"
              f" worker (think answers at once) in this one; agent session_debounce_ms 0"
              f" (default {default_ms}); {WARMUP_EVENTS} warm-up events first", flush=True)
        await _warm_up(stack, agent)
        deliveries = [str(uuid.uuid4()) for _ in range(count)]
        requests = [raw_request(stack.path, *stack.issues.signed(d)) for d in deliveries]
        events = {d: event_workflow_id(stack.tenant, "github", d) for d in deliveries}
        runs = {d: run_workflow_id(events[d], agent.agent_id) for d in deliveries}
        agent.expect(set(runs.values()))
        assert stack.worker_pid is not None
        own = "agent worker + sender (bench)"
        cpu = CpuMeter({"API": stack.api.pid, "platform worker": stack.worker_pid,
                        own: os.getpid(), "Temporal server": temporal_pid(),
                        "PostgreSQL": postmaster_pid(backend)}, own=own)
        watch = Watch(stack)
        watcher = asyncio.create_task(watch.run())
        cpu.start()
        sent = await open_loop("127.0.0.1", stack.api.port, requests, rate=rate,
                               connections=CONNECTIONS)
        watch.phase = "drain"
        first = min(sent.sent)
        acked = [d for d, s in zip(deliveries, sent.statuses, strict=True) if s == 202]
        acks = _print_send(sent, rate, cpu.stop())
        timeout = 60 + count / 2
        print(f"  draining (timeout {timeout:.0f} s) ...", flush=True)
        drained = await _drain(stack, agent, pool, {runs[d] for d in acked}, first, timeout)
        used, elapsed = cpu.stop(), time.perf_counter() - first
        watch.stop.set()
        await watcher
        fate = await _fate(client, pool, stack.tenant, deliveries)
    await pool.close()

    thought = [agent.finished[runs[d]] for d in acked if runs[d] in agent.finished]
    drain_s = max(thought) - first if drained and thought else elapsed
    print(f"  {'drained' if drained else 'NOT drained (timed out)'}: first send -> last think"
          f" {drain_s:.2f} s ({len(thought) / drain_s:.1f} events/s)")
    print_watch(watch)
    print(f"  CPU, first send -> drained ({os.cpu_count()} cores; load average"
          f" {os.getloadavg()[0]:.2f}), cores: "
          + ", ".join(f"{k} {v / elapsed:.2f}" for k, v in used.items()))
    print(f"  PostgreSQL: {len(fate.rows)} of {count} deliveries have an inbox row; events rows"
          f" by status {fate.statuses}")
    print(f"  Temporal visibility, this tenant: {fate.event_count} EventWorkflow executions"
          f" ({WARMUP_EVENTS} warm-up, {sum(fate.events[e] for e in events.values())} of this"
          f" spike), {fate.run_count} AgentRunWorkflow executions")
    stored = sum(s != 202 and d in fate.rows
                 for d, s in zip(deliveries, sent.statuses, strict=True))
    no_row = {d for d in acked if d not in fate.rows}
    no_event = {d for d in acked if fate.events[events[d]] == 0}
    no_think = {d for d in acked if runs[d] not in agent.finished}
    twice = {d for d in deliveries if fate.rows.get(d, 0) > 1 or agent.calls[runs[d]] > 1
             or fate.events[events[d]] > 1 or fate.runs[runs[d]] > 1}
    lost = no_row | no_event | no_think
    print(f"  lost: {len(lost)} (no inbox row {len(no_row)}, no EventWorkflow {len(no_event)},"
          f" no think {len(no_think)}); twice: {len(twice)}; stored though not answered 202:"
          f" {stored}")
    print(f"RESULT spike sent={count} accepted={len(fate.rows)} lost={len(lost)}"
          f" twice={len(twice)} ack_p99_ms={percentile(acks, 99) * 1000:.1f}"
          f" drain_s={drain_s:.1f}")
