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

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.enrich import EnrichActivities
from infra import database
from infra.enrichment import Enricher
from infra.settings import DatabaseSettings, GatewaySettings, Settings
from infra.vault import build_secret_store
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

EVENTS = 100
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
    queue, gateway_queue = (f"bench-{n}-{uuid.uuid4().hex[:8]}" for n in ("platform", "gw"))
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue,
                                 "SWITCHBOARD_GATEWAY_TASK_QUEUE": gateway_queue}
    settings = Settings(dev_mode=True, admin_token=SecretStr(senv["SWITCHBOARD_ADMIN_TOKEN"]),
                        master_key=SecretStr(senv["SWITCHBOARD_MASTER_KEY"]),
                        database=DatabaseSettings(url=db_url))
    # (tenant, agent): one keeps sessions, the other none; same agent id in both tenants
    agent = f"bench-{uuid.uuid4().hex[:6]}"
    with_s, without = (f"bench-{n}-{uuid.uuid4().hex[:6]}" for n in ("ses", "off"))
    stamps = {with_s: Stamps(), without: Stamps()}
    pool: asyncpg.Pool = await database.create_pool(db_url)
    # a reply's thread is enriched on the gateway queue (no Slack token here: a quick note)
    enricher = Enricher(build_secret_store(settings, pool), GatewaySettings())
    auth = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
    try:
        async with (
            served("app", free_port(), senv, relay=True) as api,
            running(platform_worker(client, pool, queue, gateway_queue=gateway_queue)),
            running(Worker(client, task_queue=gateway_queue,
                           activities=[EnrichActivities(enricher).enrich_event])),
            running(Worker(client, task_queue=agent_task_queue(with_s, agent),
                           activities=[stamps[with_s].think])),
            running(Worker(client, task_queue=agent_task_queue(without, agent),
                           activities=[stamps[without].think])),
            httpx.AsyncClient(base_url=api.url, timeout=30, headers=auth) as http,
        ):
            for tenant, change in ((with_s, {"session_debounce_ms": 0}),
                                   (without, {"sessions": False})):
                await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"], agents=[agent],
                                    default=True, tenant=tenant)
                (await http.put(f"/admin/tenants/{tenant}/integrations/slack",
                                json={"secret": corpus.secret("slack")})).raise_for_status()
                (await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", json=change)
                 ).raise_for_status()
            sent = await _send(http, stamps)
            await _report(client, agent, with_s, stamps, sent)
    finally:
        await pool.close()


async def _send(http: httpx.AsyncClient, stamps: dict[str, Stamps]
                ) -> dict[str, dict[str, float]]:
    """Post the messages one at a time, alternating the tenants (each after the previous
    think started)."""
    sent: dict[str, dict[str, float]] = {tenant: {} for tenant in stamps}
    for i in range(EVENTS + WARMUP):
        thread = f"1700001000.{i % THREADS:06d}"
        ts = thread if i < THREADS else f"1700002000.{i:06d}"
        text = f"message {i}"
        for tenant, stamp in stamps.items():
            sent[tenant][text] = time.perf_counter()
            await _post(http, tenant, text, thread, ts)
            async with asyncio.timeout(30):
                while text not in stamp.started:
                    await asyncio.sleep(0.002)
    return {tenant: {t: v for t, v in texts.items() if int(t.split()[1]) >= WARMUP}
            for tenant, texts in sent.items()}


async def _report(client: Client, agent: str, with_s: str, stamps: dict[str, Stamps],
                  sent: dict[str, dict[str, float]]) -> None:
    heading(f"Sessions: received -> think started, {EVENTS} Slack messages on {THREADS}"
            " threads to an agent with sessions (debounce 0), alternating with the same"
            " messages to one without (another tenant)")
    lat = {t: sorted(s.started[m] - sent[t][m] for m in sent[t]) for t, s in stamps.items()}
    for tenant, values in lat.items():
        label = "with sessions   " if tenant == with_s else "without sessions"
        print(f"  {label}  p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}")
    off = [v for t, vs in lat.items() if t != with_s for v in vs]
    added = [percentile(lat[with_s], q) - percentile(off, q) for q in (50, 99)]
    print(f"  added by the session path: p50 {ms(added[0])}  p99 {ms(added[1])}")
    events = size = 0
    for i in range(THREADS):
        wid = session_workflow_id(with_s, agent, f"slack:CB:1700001000.{i:06d}")
        history = await client.get_workflow_handle(wid).fetch_history()
        events += len(history.events)
        size += len(history.to_json().encode())
    turns = EVENTS + WARMUP
    print(f"  session history: {events / turns:.1f} events and {size / turns / 1024:.1f} KiB"
          " per turn (continue-as-new every 50 turns bounds a run)")
