"""What the spike benchmark watches while it sends and drains: the API process' resident memory
and the latency of an admin read that touches the database, every ``SAMPLE_EVERY`` s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx
import psutil

from tests.bench.stack import Stack
from tests.bench.stats import ms, percentile

SAMPLE_EVERY = 0.5


class Watch:
    """Every ``SAMPLE_EVERY`` s: the API's RSS and one timed admin read, by phase."""

    def __init__(self, stack: Stack) -> None:
        """Watch this stack's API process."""
        self.stack, self.phase = stack, "send"
        self.rss: dict[str, list[float]] = {"send": [], "drain": []}  # MiB
        self.admin: dict[str, list[float]] = {"send": [], "drain": []}  # seconds
        self.admin_failed: Counter[str] = Counter()
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Sample until ``stop`` is set."""
        api = psutil.Process(self.stack.api.pid)
        path = f"/admin/tenants/{self.stack.tenant}/events?limit=20"
        auth = {"Authorization": f"Bearer {self.stack.admin_token}"}
        tick = time.perf_counter()
        while not self.stop.is_set():
            phase = self.phase
            self.rss[phase].append(api.memory_info().rss / 2**20)
            started = time.perf_counter()
            try:
                r = await self.stack.http.get(path, headers=auth)
                if r.status_code != 200:
                    self.admin_failed[str(r.status_code)] += 1
            except httpx.HTTPError as exc:
                self.admin_failed[type(exc).__name__] += 1
            self.admin[phase].append(time.perf_counter() - started)
            tick += SAMPLE_EVERY
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), max(0.0, tick - time.perf_counter()))


def summary(name: str, values: list[float]) -> str:
    """One line: p50, p99, max and how many."""
    if not values:
        return f"  {name:<44} (no samples)"
    return (f"  {name:<44} p50 {ms(percentile(values, 50))}  p99 {ms(percentile(values, 99))}"
            f"  max {ms(max(values))}  n={len(values)}")


def print_watch(watch: Watch) -> None:
    """Print the RSS and admin-read figures of each phase."""
    for phase in ("send", "drain"):
        if rss := watch.rss[phase]:
            print(f"  API RSS while {phase + 'ing':<9} start {rss[0]:7.1f} MiB  max"
                  f" {max(rss):7.1f} MiB  end {rss[-1]:7.1f} MiB")
        print(summary(f"admin GET events?limit=20 while {phase}ing", watch.admin[phase]))
    if watch.admin_failed:
        print(f"  admin reads that failed: {dict(watch.admin_failed)}")
