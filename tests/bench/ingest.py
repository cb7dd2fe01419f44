"""Webhook acknowledgement: the real API (signature check + inbox commit) against bare insert-and-202."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import asyncpg

from tests.bench.fixtures import create_tenant, server_env, signed_issue_opened
from tests.bench.load import RunResult, drive, github_requests
from tests.bench.serve import Served, served
from tests.bench.stats import heading, median, ms, percentile, verdict
from tests.harness import free_port

TARGET_RATIO = 0.80
CONCURRENCY = 16
WARMUP_SECONDS = 2.0
ROUNDS = 3


@dataclass
class Side:
    """One server under test and the runs it got."""

    name: str
    server: Served
    path: str
    runs: list[RunResult]
    accepted: int = 0


async def _run(side: Side, seconds: float) -> RunResult:
    headers, body = signed_issue_opened()
    make = github_requests(side.path, headers, body)
    cpu = side.server.cpu_seconds()
    result = await drive("127.0.0.1", side.server.port, make,
                         concurrency=CONCURRENCY, seconds=seconds)
    server_cpu = (side.server.cpu_seconds() - cpu) / result.elapsed
    side.accepted += result.statuses[202]
    print(f"  {side.name:<8} {result.rate:8.0f} req/s  p50 {ms(percentile(result.latencies, 50))}"
          f"  p99 {ms(percentile(result.latencies, 99))}  n={len(result.latencies):<6}"
          f" server CPU {server_cpu:4.0%}  client CPU {result.client_cpu:4.0%}", flush=True)
    return result


async def bench_ingest(db_url: str, seconds: float) -> bool:
    """Run alternating baseline/app rounds, print the figures; True when the target is met."""
    heading("Webhook acknowledgement throughput (signature check + inbox commit)")
    env = server_env(db_url)
    async with served("app", free_port(), env) as app, served("baseline", free_port(), env) as bare:
        tenant = await create_tenant(app.url, env["SWITCHBOARD_ADMIN_TOKEN"])
        sides = [Side("baseline", bare, f"/bare/{tenant}", []),
                 Side("app", app, f"/webhooks/github/{tenant}", [])]
        print(f"  body: github/issues.opened.json ({len(signed_issue_opened()[1])} B), unique"
              f" X-GitHub-Delivery each; {CONCURRENCY} in flight; {ROUNDS} rounds of {seconds:g} s"
              f" per server after {WARMUP_SECONDS:g} s warm-up; app relay OFF (ack path only)")
        for side in sides:
            warm = await drive("127.0.0.1", side.server.port,
                               github_requests(side.path, *signed_issue_opened()),
                               concurrency=CONCURRENCY, seconds=WARMUP_SECONDS)
            side.accepted += warm.statuses[202]
        for _ in range(ROUNDS):
            for side in sides:
                side.runs.append(await _run(side, seconds))
        stored = await _stored(db_url, tenant)
    base, ours = sides
    return _report(base, ours, stored)


async def _stored(db_url: str, tenant: str) -> tuple[int, int]:
    conn = await asyncpg.connect(db_url)
    try:
        inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant)
        bare = await conn.fetchval("SELECT count(*) FROM bench_bare WHERE tenant_id = $1", tenant)
    finally:
        await conn.close()
    return int(inbox), int(bare)


def _report(base: Side, ours: Side, stored: tuple[int, int]) -> bool:
    print("  median of rounds:")
    for side in (base, ours):
        print(f"  {side.name:<8} {median([r.rate for r in side.runs]):8.0f} req/s"
              f"  p50 {ms(median([percentile(r.latencies, 50) for r in side.runs]))}"
              f"  p99 {ms(median([percentile(r.latencies, 99) for r in side.runs]))}")
    ratio = median([r.rate for r in ours.runs]) / median([r.rate for r in base.runs])
    statuses: Counter[int] = sum((r.statuses for r in ours.runs), start=Counter())
    all_202 = set(statuses) == {202}
    inbox, bare = stored
    print(f"  app responses: {dict(statuses)}; inbox rows {inbox} for {ours.accepted} x 202;"
          f" bench_bare rows {bare} for {base.accepted} x 202")
    durable = all_202 and inbox == ours.accepted and bare == base.accepted
    print(verdict("every app response 202 and stored", durable,
                  f"{inbox} inbox rows = {ours.accepted} acknowledgements" if durable
                  else f"statuses {dict(statuses)}, {inbox} rows vs {ours.accepted} x 202"))
    ok = ratio >= TARGET_RATIO
    print(verdict(f"app/baseline throughput >= {TARGET_RATIO:.2f}", ok, f"{ratio:.2f}"))
    return ok and durable
