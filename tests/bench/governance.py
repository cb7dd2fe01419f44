"""Governance costs through the real stack: the kill switch's time to a full stop, idle and under
load, and what an agent's heartbeat costs Temporal (latency of the signal-with-start, history
events per beat).

The platform worker runs as ``switchboard up`` runs it, ``switchboard worker`` in its own process
(not in this one, whose loop measures and generates the load). Under load, each trial restarts
it (SIGINT; a fresh process: the control workflow's last worker, and its sticky queue, are
gone), posts ``LOAD_EVENTS`` webhooks whose thinks take ``THINK_SECONDS`` each, and stops while
they are in flight: the case where a stop used to wait behind the event backlog.

Figures only; nothing here is a target or an assertion.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import asyncpg
import httpx
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

from infra import database
from infra.governance import presence
from infra.settings import GatewaySettings
from tests.bench.agent_sockets import closed_at, connect
from tests.bench.fixtures import NewIssues, create_tenant, server_env, set_debounce
from tests.bench.serve import served, stop
from tests.bench.stack import temporal
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port, running
from workers.platform import control_worker, platform_worker
from workflows import presence as presence_workflow
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.ids import CONTROL_WORKFLOW_ID, agent_task_queue, presence_workflow_id
from workflows.names import THINK_ACTIVITY
from workflows.presence import PresenceWorkflow

KILL_CLOSE_CODE = 4001
CLOSE_WITHIN = 60.0  # generous: a late stop is a figure to print, not a "never"
REFUSED_WITHIN = 60.0
LOAD_EVENTS = 300  # webhooks in flight when a loaded trial stops
LOAD_SENDERS = 16
THINK_SECONDS = 0.05  # each of the load's thinks
DRAIN_WITHIN = 300.0
HEARTBEAT_EVERY = 30.0  # what a real agent sends (api/routes/agent_ws.py)


def _cpu_check() -> float:
    """The fixed loop ``python -m tests.bench`` times: this VM's CPU speed varies by the minute."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


@dataclass
class Api:
    """A running API process (``python -m tests.bench.serve --kind app``)."""

    url: str
    pid: int

    @property
    def ws(self) -> str:
        """Its agent socket URL."""
        return self.url.replace("http://", "ws://") + "/agents/ws"


@contextlib.asynccontextmanager
async def _api(env: Mapping[str, str], log: Path, *, relay: bool = False) -> AsyncIterator[Api]:
    """An API process with its log in a file: every stop_all makes each process log a
    warning, which would bury the figures."""
    async with served("app", free_port(), env, relay=relay, log=log) as server:
        yield Api(server.url, server.pid)


@dataclass
class Trial:
    """One stop_all, timed from just before the POST (perf_counter seconds after t0)."""

    posted: float  # POST /admin/kill-switch answered
    applied: float  # control_state.changed_at (the apply transaction), wall clock
    first_closed: float
    all_closed: float  # every socket closed (inf if one stayed open)
    refused: float  # first 401 on a gateway call with a pre-stop token (polled from t0)
    codes: Counter[int | None] = field(default_factory=Counter)
    resumed: float = math.nan  # POST resume -> GET shows running
    true_at_answer: bool = False  # the first gateway call after the 200 was already refused
    recorded: bool = True  # the answer said the control workflow recorded the stop
    thinks_meanwhile: int = 0  # load thinks started between the POST and the apply
    steps: dict[str, float] = field(default_factory=dict)  # STEPS: server side, s after t0


# Where a stop's time goes, from the switchboard-control history (server clock, this machine):
# the first event of each type after t0, in the order they happen.
STEPS = {
    "workflow task scheduled": EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    "workflow task started (worker polled it)": EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    "workflow task completed": EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    "applied signal recorded": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    "update accepted": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    "apply activity started": EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    "apply activity completed": EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    "apply recorded (local activity marker)": EventType.EVENT_TYPE_MARKER_RECORDED,
    "update completed": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


async def _steps(client: Client, t0_wall: float) -> dict[str, float]:
    """STEPS of the last stop, in seconds after ``t0_wall``, from the control history (the runs
    since t0: the workflow may have continued as new after answering)."""
    events: list[HistoryEvent] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(CONTROL_WORKFLOW_ID,
                                                   run_id=run_id).fetch_history()
        events[:0] = history.events
        started = history.events[0]
        previous = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous or _at(started, t0_wall) < 0:
            break
        run_id = previous
    seen: dict[int, float] = {}
    for event in events:
        at = _at(event, t0_wall)
        if at >= 0 and event.event_type not in seen:
            seen[event.event_type] = at
    return {name: seen[kind] for name, kind in STEPS.items() if kind in seen}


def _at(event: HistoryEvent, t0_wall: float) -> float:
    return event.event_time.ToDatetime(tzinfo=UTC).timestamp() - t0_wall


async def _token(http: httpx.AsyncClient, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"})
    if r.status_code != 200:
        raise RuntimeError(f"/oauth/token answered {r.status_code}: {r.text}")
    return str(r.json()["access_token"])


async def _refused_at(http: httpx.AsyncClient, token: str) -> tuple[float, int]:
    """When (perf_counter) a gateway call with ``token`` was first answered 401 (polling), and
    after how many calls."""
    deadline = time.perf_counter() + REFUSED_WITHIN
    auth = {"Authorization": f"Bearer {token}"}
    calls = 0
    while time.perf_counter() < deadline:
        calls += 1
        r = await http.get("/gateway/catalog", headers=auth)
        if r.status_code == 401:
            return time.perf_counter(), calls
    return math.inf, calls


async def _switch(http: httpx.AsyncClient, admin: dict[str, str], action: str) -> bool:
    """Flip the switch; whether the answer says the control workflow recorded it."""
    r = await http.post("/admin/kill-switch", headers=admin,
                        json={"action": action, "reason": "governance benchmark"})
    if r.status_code != 200:
        raise RuntimeError(f"kill switch {action} answered {r.status_code}: {r.text}")
    return bool(r.json().get("recorded", True))


class BusyAgent:
    """The load's agent: each think works ``THINK_SECONDS``, then answers; starts noted."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.started: list[float] = []  # wall clock
        self.done = 0

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Work a little, answer."""
        self.started.append(time.time())
        await asyncio.sleep(THINK_SECONDS)
        self.done += 1
        return ThinkOutput(final="done", usage=Usage(model="bench", input_tokens=1,
                                                     output_tokens=1))


@dataclass
class Load:
    """The events a loaded trial puts in flight: where to post them, who thinks them."""

    http: httpx.AsyncClient
    path: str
    issues: NewIssues
    agent: BusyAgent

    async def post(self, count: int) -> None:
        """POST ``count`` deliveries, each a new issue, with LOAD_SENDERS concurrent senders."""
        pending = iter([self.issues.signed(str(uuid.uuid4())) for _ in range(count)])

        async def sender() -> None:
            for headers, body in pending:
                r = await self.http.post(self.path, content=body, headers=headers)
                if r.status_code != 202:
                    raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")

        await asyncio.gather(*(sender() for _ in range(LOAD_SENDERS)))


@contextlib.asynccontextmanager
async def _worker_process(env: Mapping[str, str], log: Path) -> AsyncIterator[None]:
    """``switchboard worker`` in its own process, as ``switchboard up`` runs it (platform,
    gateway and control workers); stopped with SIGINT, as a crash or a restart stops it."""
    argv = [sys.executable, "-m", "cli", "worker"]
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *argv, env={**os.environ, **env}, stdin=asyncio.subprocess.DEVNULL, stdout=sink,
            stderr=sink)
    try:
        async with asyncio.timeout(60):  # it logs this once the control workflow is there
            while b"platform worker polling" not in await asyncio.to_thread(log.read_bytes):
                if proc.returncode is not None:
                    tail = (await asyncio.to_thread(log.read_bytes))[-2000:]
                    raise RuntimeError(f"worker exited with {proc.returncode}:"
                                       f" {tail.decode(errors='replace')}")
                await asyncio.sleep(0.1)
        yield
    finally:
        await stop(proc)


def _platform(client: Client, pool: asyncpg.Pool, queue: str) -> list[Worker]:
    """A platform process's workers, as `switchboard worker` runs them (the kill switch on its
    own queue)."""
    return [platform_worker(client, pool, queue, gateway_queue=GatewaySettings().task_queue),
            control_worker(client, pool, _control(queue))]


def _control(queue: str) -> str:
    """The control queue beside a platform queue."""
    return f"{queue}.control"


async def _one_trial(client: Client, apis: list[Api], https: list[httpx.AsyncClient],
                     admin: dict[str, str], creds: list[tuple[str, str]], pool: asyncpg.Pool,
                     load: Load | None = None) -> Trial:
    tokens = await asyncio.gather(*(_token(https[i % 2], *c) for i, c in enumerate(creds)))
    sockets = await asyncio.gather(*(connect(apis[i % 2].ws, t) for i, t in enumerate(tokens)))
    probe = https[1]
    r = await probe.get("/gateway/catalog", headers={"Authorization": f"Bearer {tokens[0]}"})
    if r.status_code != 200:
        raise RuntimeError(f"gateway call before the stop answered {r.status_code}: {r.text}")
    closing = [asyncio.create_task(closed_at(ws, CLOSE_WITHIN, time.perf_counter))
               for ws in sockets]
    thinks_before = 0
    if load is not None:
        thinks_before = load.agent.done
        await load.post(LOAD_EVENTS)
    await asyncio.sleep(0.05)  # every reader waiting
    t0, t0_wall = time.perf_counter(), time.time()
    # Polled from t0, not from the answer: the API answers after the stop is in force and after
    # the control workflow recorded it (or a second passed), so the token is refused before.
    polling = asyncio.create_task(_refused_at(probe, tokens[0]))
    recorded = await _switch(https[0], admin, "stop_all")
    posted = time.perf_counter()
    after = await probe.get("/gateway/catalog", headers={"Authorization": f"Bearer {tokens[0]}"})
    refused, _ = await polling
    results = await asyncio.gather(*closing)
    changed = float(await pool.fetchval(
        "SELECT extract(epoch FROM changed_at) FROM control_state"))
    closes = [at for at, _ in results]
    trial = Trial(posted=posted - t0, applied=changed - t0_wall,
                  first_closed=min(closes) - t0, all_closed=max(closes) - t0,
                  refused=refused - t0, codes=Counter(code for _, code in results),
                  true_at_answer=after.status_code == 401, recorded=recorded,
                  steps=await _steps(client, t0_wall))
    if load is not None:
        trial.thinks_meanwhile = sum(1 for at in load.agent.started if t0_wall <= at <= changed)
    # Resume; new tokens must be issued in a later second than the revoke-all.
    started = time.perf_counter()
    await _switch(https[0], admin, "resume")
    async with asyncio.timeout(10):
        while (await https[0].get("/admin/kill-switch", headers=admin)).json()["stopped"]:
            await asyncio.sleep(0.01)
    trial.resumed = time.perf_counter() - started
    if load is not None:  # the backlog goes through before the next trial's restart
        async with asyncio.timeout(DRAIN_WITHIN):
            while load.agent.done < thinks_before + LOAD_EVENTS:
                await asyncio.sleep(0.1)
    return trial


async def _kill_switch(client: Client, pool: asyncpg.Pool, db_url: str, queue: str,
                       agents: int, trials: int, folder: Path) -> None:
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue,
                                 "TEMPORAL_CONTROL_TASK_QUEUE": _control(queue)}
    admin = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
    busy = BusyAgent(f"gov-busy-{uuid.uuid4().hex[:8]}")
    busy_tenant = f"gov-busy-{uuid.uuid4().hex[:8]}"
    async with (
        _api(senv, folder / "api-1.log", relay=True) as one,
        _api(senv, folder / "api-2.log") as two,
        httpx.AsyncClient(base_url=one.url, timeout=30) as h1,
        httpx.AsyncClient(base_url=two.url, timeout=30) as h2,
        httpx.AsyncClient(base_url=two.url, timeout=30,
                          limits=httpx.Limits(max_connections=LOAD_SENDERS)) as loader,
        running(Worker(client, task_queue=agent_task_queue(busy_tenant, busy.agent_id),
                       activities=[busy.think], max_concurrent_activities=50)),
    ):
        names = [f"gov-{uuid.uuid4().hex[:8]}" for _ in range(agents)]
        tenant = await create_tenant(one.url, senv["SWITCHBOARD_ADMIN_TOKEN"], agents=names)
        # Each trial issues 20 tokens and polls the gateway: more than a plan's minute.
        r = await h1.put(f"/admin/tenants/{tenant}/quota", headers=admin,
                         json={"requests_per_minute": 1_000_000})
        r.raise_for_status()
        creds = []
        for name in names:
            r = await h1.post(f"/admin/tenants/{tenant}/agents/{name}/credentials",
                              headers=admin)
            r.raise_for_status()
            creds.append((r.json()["client_id"], r.json()["client_secret"]))
        await create_tenant(one.url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                            agents=[busy.agent_id], default=True, tenant=busy_tenant)
        # Its events are many threads (one issue each); debounce 0 so that their thinks are in
        # flight when a trial stops, as before sessions, not held 2 s in each session's window.
        await set_debounce(one.url, senv["SWITCHBOARD_ADMIN_TOKEN"], busy_tenant,
                           [busy.agent_id], 0)
        load = Load(loader, f"/webhooks/github/{busy_tenant}", NewIssues(), busy)
        apis, https = [one, two], [h1, h2]
        print(f"  {agents} agent sockets split over 2 API processes (the first runs the relay);"
              f" `switchboard worker` in its own process, as `up` runs it; t0 just before POST"
              f" stop_all; 401 polled from t0 with GET /gateway/catalog on the other process",
              flush=True)
        async with _worker_process(senv, folder / "worker-idle.log"):
            await _one_trial(client, apis, https, admin, creds, pool)
            print(f"  CPU check: {_cpu_check():.3f} s before the trials", flush=True)
            idle = [await _one_trial(client, apis, https, admin, creds, pool)
                    for _ in range(trials)]
        print(f"  -- idle: {trials} trials after 1 warm-up, no events in flight --", flush=True)
        _report_kill(idle, agents)
        loaded = []
        for i in range(trials + 1):  # the first is a warm-up
            async with _worker_process(senv, folder / f"worker-{i}.log"):  # a restart
                trial = await _one_trial(client, apis, https, admin, creds, pool, load)
            if i:
                loaded.append(trial)
        print(f"  -- under load: {trials} trials after 1 warm-up; each restarts the platform"
              f" worker, posts {LOAD_EVENTS} webhooks (each a new issue: its own thread and"
              f" session; session_debounce_ms 0; thinks of {THINK_SECONDS * 1000:.0f} ms)"
              " and stops while they are in flight --", flush=True)
        print(f"  CPU check: {_cpu_check():.3f} s after the trials", flush=True)
        _report_kill(loaded, agents)
        print(_line("load thinks started between POST and apply",
                    [float(t.thinks_meanwhile) for t in loaded], unit=""))


def _line(name: str, values: list[float], unit: str = "ms") -> str:
    finite = [v for v in values if math.isfinite(v)]
    missing = len(values) - len(finite)
    tail = f"  ({missing} never)" if missing else ""
    if not finite:
        return f"  {name:<46} never{tail}"
    show = ms if unit == "ms" else (lambda v: f"{v:8.1f}   ")
    return (f"  {name:<46} p50 {show(percentile(finite, 50))}  p99 {show(percentile(finite, 99))}"
            f"  max {show(max(finite))}{tail}")


def _report_kill(runs: list[Trial], agents: int) -> None:
    codes: Counter[int | None] = Counter()
    for run in runs:
        codes += run.codes
    print("  where the time goes (control workflow history, first event after t0):")
    for name in STEPS:
        if any(name in r.steps for r in runs):
            print(_line(f"  POST -> {name}", [r.steps.get(name, math.inf) for r in runs]))
    print(_line("POST stop_all -> 200", [r.posted for r in runs]))
    print(_line("POST -> applied (control_state.changed_at)", [r.applied for r in runs]))
    print(_line("POST -> first socket closed", [r.first_closed for r in runs]))
    print(_line(f"(a) POST -> all {agents} sockets closed", [r.all_closed for r in runs]))
    print(_line("(b) POST -> pre-stop token refused (401)", [r.refused for r in runs]))
    print(_line("full stop: max(a, b)", [max(r.all_closed, r.refused) for r in runs]))
    print(_line("POST resume -> GET shows running", [r.resumed for r in runs]))
    true = sum(r.true_at_answer for r in runs)
    print(f"  the 200 was already true (first gateway call after it refused): {true}/{len(runs)}")
    recorded = sum(r.recorded for r in runs)
    print(f"  the answer said the control workflow recorded it: {recorded}/{len(runs)}")
    shown = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=str))
    print(f"  close codes over {len(runs)} trials: {shown}"
          f" (expected {KILL_CLOSE_CODE} x {agents * len(runs)})")


async def _heartbeats(client: Client, queue: str, agents: int, beats: int) -> None:
    tenant = f"gov-{uuid.uuid4().hex[:8]}"
    names = [f"gov-beat-{uuid.uuid4().hex[:8]}" for _ in range(agents)]
    first: list[float] = []
    for name in names:  # the first heartbeat starts the agent's presence workflow
        started = time.perf_counter()
        await presence.heartbeat(client, queue, tenant, name, interval_seconds=HEARTBEAT_EVERY)
        first.append(time.perf_counter() - started)
    await asyncio.sleep(0.5)  # let each start's workflow task settle
    samples: list[float] = []
    for i in range(beats):
        started = time.perf_counter()
        await presence.heartbeat(client, queue, tenant, names[i % agents],
                                 interval_seconds=HEARTBEAT_EVERY)
        samples.append(time.perf_counter() - started)
    print(f"  {agents} agents, {beats} sequential heartbeats round-robin (signal-with-start on a"
          f" running workflow) after each agent's first (which starts it)", flush=True)
    print(_line("first heartbeat (starts presence workflow)", first))
    print(_line("heartbeat on a running workflow", samples))

    per_agent = beats // agents + 1
    expected = {n: beats // agents + (1 if i < beats % agents else 0) + 1
                for i, n in enumerate(names)}
    async with asyncio.timeout(15):  # every signal handled before reading the histories
        for name in names:
            handle = client.get_workflow_handle(presence_workflow_id(tenant, name))
            while await handle.query(PresenceWorkflow.beats) < expected[name]:
                await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    events = 0
    size = 0
    kinds: Counter[str] = Counter()
    for name in names:
        handle = client.get_workflow_handle(presence_workflow_id(tenant, name))
        history = await handle.fetch_history()
        events += len(history.events)
        size += sum(e.ByteSize() for e in history.events)
        kinds.update(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
                     for e in history.events)
    beats_seen = sum(expected.values())
    per_beat = events / beats_seen
    print(f"  history: {per_beat:.2f} events per heartbeat ({events} events / {beats_seen}"
          f" heartbeats over {agents} workflows of ~{per_agent} beats each, start included;"
          f" {size / beats_seen:.0f} bytes of history per beat)")
    print("  by type, per heartbeat: " + ", ".join(
        f"{kind} {n / beats_seen:.2f}" for kind, n in kinds.most_common()))
    run_beats = presence_workflow._BEATS_PER_RUN
    per_day = 86400 / HEARTBEAT_EVERY
    print(f"  at one heartbeat per {HEARTBEAT_EVERY:g} s per agent: {per_day:.0f} signals and"
          f" ~{per_day * per_beat:,.0f} history events per agent per day; a run of {run_beats}"
          f" beats (~{run_beats * HEARTBEAT_EVERY / 3600:.1f} h) ends near"
          f" {run_beats * per_beat:,.0f} events; 1,000 agents ="
          f" {1000 / HEARTBEAT_EVERY:.1f} signals/s, {1000 / HEARTBEAT_EVERY * per_beat:.0f}"
          " events/s")


async def bench_governance(db_url: str, *, agents: int = 20, trials: int = 20,
                           beat_agents: int = 5, beats: int = 300) -> None:
    """Print kill-switch stop times and heartbeat costs (figures only, no target)."""
    heading("Governance: kill switch to full stop; heartbeat cost")
    quiet = logging.getLogger("activities.control")  # "kill switch: STOP ALL" on every trial
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    env = await temporal()
    queue = f"bench-platform-{uuid.uuid4().hex[:8]}"
    pool = await database.create_pool(db_url)
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-gov-") as folder:
            await _kill_switch(env.client, pool, db_url, queue, agents, trials, Path(folder))
        async with contextlib.AsyncExitStack() as workers:
            for worker in _platform(env.client, pool, queue):
                await workers.enter_async_context(running(worker))
            print("  -- heartbeats --", flush=True)
            await _heartbeats(env.client, queue, beat_agents, beats)
    finally:
        quiet.setLevel(level)
        await pool.close()
        await env.shutdown()
