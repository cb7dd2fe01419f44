"""Sessions bench: latency the session path adds to webhook received -> think started, and the
session's workflow history per turn.

One tenant, two default agents on the same stack: ``ses-*`` keeps sessions (debounce 0, so the
window is not counted), ``off-*`` keeps none (``sessions: false``: each event is a fresh run, the
path without sessions). Every signed Slack message reaches both, so each event gives a pair of
samples under the same load; messages go to a few threads, so most land in a running session.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from infra import database
from infra.settings import GatewaySettings
from tests import corpus
from tests.bench.fixtures import create_tenant, server_env
from tests.bench.serve import served
from tests.bench.stack import temporal
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port, running
from workers.platform import platform_worker
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.ids import agent_task_queue, session_workflow_id
from workflows.names import THINK_ACTIVITY

EVENTS = 120
THREADS = 6
WARMUP = 6


class Stamps:
    """A think that notes when it started for each Slack message (by its text)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Stamp, answer at once."""
        self.started.setdefault((inp.event.text or "").splitlines()[-1], time.perf_counter())
        return ThinkOutput(final="ok")


async def bench_sessions(db_url: str) -> None:
    """Run the bench and print its figures."""
    env = await temporal()
    try:
        await _run(env.client, db_url)
    finally:
        await env.shutdown()


async def _post(http: httpx.AsyncClient, tenant: str, text: str, thread: str, ts: str) -> None:
    message = {"type": "message", "user": "U1", "text": text, "ts": ts, "channel": "CB",
               "channel_type": "channel"}
    if thread != ts:
        message["thread_ts"] = thread
    raw = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                      "team_id": "T1", "event": message}).encode()
    headers = {"Content-Type": "application/json",
               **corpus.slack_sign(raw, corpus.secret("slack"))}
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=headers)
    r.raise_for_status()


async def _run(client: Client, db_url: str) -> None:
    queue = f"bench-platform-{uuid.uuid4().hex[:8]}"
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue}
    tenant = f"bench-{uuid.uuid4().hex[:10]}"
    with_s, without = f"ses-{uuid.uuid4().hex[:6]}", f"off-{uuid.uuid4().hex[:6]}"
    stamps = {with_s: Stamps(), without: Stamps()}
    pool = await database.create_pool(db_url)
    auth = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
    try:
        async with (
            served("app", free_port(), senv, relay=True) as api,
            running(platform_worker(client, pool, queue,
                                    gateway_queue=GatewaySettings().task_queue)),
            running(Worker(client, task_queue=agent_task_queue(tenant, with_s),
                           activities=[stamps[with_s].think])),
            running(Worker(client, task_queue=agent_task_queue(tenant, without),
                           activities=[stamps[without].think])),
            httpx.AsyncClient(base_url=api.url, timeout=30, headers=auth) as http,
        ):
            await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                                agents=[with_s, without], default=True, tenant=tenant)
            (await http.put(f"/admin/tenants/{tenant}/integrations/slack",
                            json={"secret": corpus.secret("slack")})).raise_for_status()
            base = f"/admin/tenants/{tenant}/agents"
            (await http.patch(f"{base}/{with_s}", json={"session_debounce_ms": 0})
             ).raise_for_status()
            (await http.patch(f"{base}/{without}", json={"sessions": False})).raise_for_status()
            sent = await _send(http, tenant, stamps)
            await _report(client, tenant, with_s, stamps, sent)
    finally:
        await pool.close()


async def _send(http: httpx.AsyncClient, tenant: str, stamps: dict[str, Stamps]
                ) -> dict[str, float]:
    """Post the messages one at a time (each after both thinks of the previous one started)."""
    sent: dict[str, float] = {}
    for i in range(EVENTS + WARMUP):
        thread = f"1700001000.{i % THREADS:06d}"
        ts = thread if i < THREADS else f"1700002000.{i:06d}"
        text = f"message {i}"
        sent[text] = time.perf_counter()
        await _post(http, tenant, text, thread, ts)
        async with asyncio.timeout(30):
            while not all(text in s.started for s in stamps.values()):
                await asyncio.sleep(0.002)
    return {t: v for t, v in sent.items() if int(t.split()[1]) >= WARMUP}


async def _report(client: Client, tenant: str, with_s: str, stamps: dict[str, Stamps],
                  sent: dict[str, float]) -> None:
    heading(f"Sessions: received -> think started, {len(sent)} Slack messages on {THREADS}"
            " threads, each to an agent with sessions and one without")
    lat = {a: [s.started[t] - sent[t] for t in sent] for a, s in stamps.items()}
    added = [stamps[with_s].started[t] - min(s.started[t] for a, s in stamps.items()
                                             if a != with_s) for t in sent]
    for agent, values in lat.items():
        label = "with sessions   " if agent == with_s else "without sessions"
        print(f"  {label}  p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}")
    print(f"  added by the session path (paired, same event): p50 {ms(percentile(added, 50))}"
          f"  p99 {ms(percentile(added, 99))}")
    events = size = turns = 0
    for i in range(THREADS):
        wid = session_workflow_id(tenant, with_s, f"slack:CB:1700001000.{i:06d}")
        history = await client.get_workflow_handle(wid).fetch_history()
        events += len(history.events)
        size += len(history.to_json().encode())
        turns += sum(1 for t in sent if int(t.split()[1]) % THREADS == i)
    turns += WARMUP
    print(f"  session history: {events / turns:.1f} events and {size / turns / 1024:.1f} KiB"
          " per turn (continue-as-new every 50 turns bounds a run)")
