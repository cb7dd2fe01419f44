"""Webhook acknowledgement: the real API (verify + inbox commit) against a bare insert-and-202."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from tests.bench.fixtures import create_tenant, server_env, signed_issue_opened
from tests.bench.load import RunResult, drive, github_requests
from tests.bench.serve import Served, served
from tests.bench.stats import heading, median, ms, percentile, verdict
from tests.harness import free_port

TARGET_RATIO = 0.80
CONCURRENCY = 16
WARMUP_SECONDS = 2.0
ROUNDS = 9


@dataclass
class Side:
    """One server under test: its timed runs and every status it answered (warm-up included)."""

    name: str
    server: Served
    path: str
    runs: list[RunResult] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    async def drive(self, seconds: float) -> RunResult:
        """Load this server with the signed corpus delivery; note CPU used on both sides."""
        make = github_requests(self.path, *signed_issue_opened())
        cpu = self.server.cpu_seconds()
        result = await drive("127.0.0.1", self.server.port, make,
                             concurrency=CONCURRENCY, seconds=seconds)
        self.statuses += result.statuses
        server_cpu = (self.server.cpu_seconds() - cpu) / result.elapsed
        print(f"  {self.name:<8} {result.rate:7.0f} req/s"
              f"  p50 {ms(percentile(result.latencies, 50))}"
              f"  p99 {ms(percentile(result.latencies, 99))}  n={len(result.latencies):<6}"
              f" server CPU {server_cpu:4.0%}  client CPU {result.client_cpu:4.0%}", flush=True)
        return result


async def bench_ingest(db_url: str, seconds: float) -> bool:
    """Alternate baseline and app runs, print the figures; True when every target is met."""
    heading("Webhook acknowledgement: signature check + inbox commit vs bare insert-and-202")
    env = server_env(db_url)
    async with served("app", free_port(), env) as app, served("baseline", free_port(), env) as bare:
        tenant = await create_tenant(app.url, env["SWITCHBOARD_ADMIN_TOKEN"])
        base = Side("baseline", bare, f"/bare/{tenant}")
        ours = Side("app", app, f"/webhooks/github/{tenant}")
        print(f"  github/issues.opened.json ({len(signed_issue_opened()[1])} B), fresh"
              f" X-GitHub-Delivery per request, signature precomputed; each server in its own"
              f" process; {CONCURRENCY} in flight; {ROUNDS} rounds x {seconds:g} s after"
              f" {WARMUP_SECONDS:g} s warm-up, the order alternating each round;"
              f" app relay OFF (acknowledgement only)")
        print("  warm-up:")
        for side in (base, ours):
            await side.drive(WARMUP_SECONDS)
        print("  timed runs:")
        for round_ in range(ROUNDS):
            # Each round pairs the two servers back to back, so that this VM's CPU speed
            # (which drifts by up to 2x from minute to minute) is about the same for both.
            for side in (base, ours) if round_ % 2 == 0 else (ours, base):
                side.runs.append(await side.drive(seconds))
        stored = await _stored(db_url, tenant)
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
    print(f"  median of {ROUNDS} rounds:")
    for side in (base, ours):
        print(f"  {side.name:<8} {median([r.rate for r in side.runs]):7.0f} req/s"
              f"  p50 {ms(median([percentile(r.latencies, 50) for r in side.runs]))}"
              f"  p99 {ms(median([percentile(r.latencies, 99) for r in side.runs]))}")
    runs = base.runs + ours.runs
    per_request = max(r.client_cpu / r.rate for r in runs)
    print(f"  client: at most {per_request * 1e6:.0f} us of CPU per request, so one core could"
          f" drive {1 / per_request:,.0f} req/s; the fastest run above needed"
          f" {max(r.rate for r in runs):,.0f}: the client is not the limit")
    inbox, bare = stored
    accepted = ours.statuses[202]
    durable = set(ours.statuses) == {202} and inbox == accepted
    print(verdict("every app response 202, each one an inbox row", durable,
                  f"responses {dict(ours.statuses)}, {inbox} inbox rows"
                  f" (baseline: {base.statuses[202]} x 202, {bare} rows)"))
    ratios = [o.rate / b.rate for o, b in zip(ours.runs, base.runs, strict=True)]
    ratio = median(ratios)
    fast = ratio >= TARGET_RATIO
    print(f"  app/baseline per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(verdict(f"app/baseline throughput >= {TARGET_RATIO:.2f} (median of the rounds)", fast,
                  f"{ratio:.2f}" + ("" if fast else f" ({TARGET_RATIO - ratio:.2f} short)")))
    return durable and fast
