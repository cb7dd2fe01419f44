"""``python -m tests.bench [--only ingest|latency|governance|sockets|context|gateway|pipeline|
enrichment|sessions|approvals|runs|scaleout|spike|steps] [--events N] [--seconds S] [--rate R]
[--background R] [--remote-embeddings]``:
the figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

from tests.bench.approvals import bench_approvals
from tests.bench.context import bench_context
from tests.bench.enrichment import bench_enrichment
from tests.bench.gateway import bench_gateway
from tests.bench.governance import bench_governance
from tests.bench.ingest import bench_ingest
from tests.bench.latency import bench_latency
from tests.bench.pipeline import bench_pipeline
from tests.bench.runs import bench_runs
from tests.bench.scaleout import bench_scaleout
from tests.bench.sessions import bench_sessions
from tests.bench.sockets import bench_sockets
from tests.bench.spike import EVENTS as SPIKE_EVENTS
from tests.bench.spike import bench_spike
from tests.bench.steps import bench_steps
from tests.harness import migrated_database, start_postgres


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    cli.add_argument("--only", choices=("ingest", "latency", "governance", "sockets", "context",
                                          "gateway", "pipeline", "enrichment", "sessions",
                                          "approvals", "runs", "scaleout", "spike", "steps"),
                     help="run one benchmark")
    cli.add_argument("--events", type=int, default=None,
                     help=f"latency, pipeline: events measured (default 200); spike: webhooks"
                          f" sent (default {SPIKE_EVENTS})")
    cli.add_argument("--rate", type=float, default=2000.0,
                     help="spike: webhooks sent a second, open loop")
    cli.add_argument("--background", type=float, default=0.0,
                     help="latency: other webhooks a second posted while measuring (default 0)")
    cli.add_argument("--remote-embeddings", action="store_true",
                     help="pipeline: embed through an OpenAI-compatible fake in the bench process"
                          " instead of the ONNX model in the platform worker")
    cli.add_argument("--seconds", type=float, default=4.0,
                     help="ingest: seconds per timed run (9 rounds x 2 servers)")
    return cli


def cpu_speed() -> float:
    """Seconds a fixed pure-Python loop takes: this VM's CPU speed varies by half from minute
    to minute, so read every absolute figure against it."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> list[bool]:
    """Start one PostgreSQL, give each benchmark its own database, run them in turn."""
    results: list[bool] = []
    if args.events is None:
        args.events = SPIKE_EVENTS if args.only == "spike" else 200
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as folder:
        pg, url = await start_postgres(Path(folder), "bench_ingest")
        try:
            if args.only in (None, "ingest"):
                results.append(await bench_ingest(url, args.seconds))
            if args.only in (None, "latency"):
                results.append(await bench_latency(await migrated_database(url, "bench_latency"),
                                                   args.events, args.background))
            if args.only == "context":  # ~1.5-2 min (embeds 5k texts, builds a 100k index)
                results.append(await bench_context(await migrated_database(url, "bench_context")))
            if args.only in (None, "governance"):  # figures only: no target to count
                await bench_governance(await migrated_database(url, "bench_governance"))
            if args.only in (None, "sockets"):  # figures only
                await bench_sockets(await migrated_database(url, "bench_sockets"))
            if args.only in (None, "gateway"):  # figures only
                await bench_gateway(await migrated_database(url, "bench_gateway"))
            if args.only in (None, "pipeline"):  # figures only
                await bench_pipeline(await migrated_database(url, "bench_pipeline"),
                                     args.events, remote_embeddings=args.remote_embeddings)
            if args.only in (None, "enrichment"):  # figures only
                await bench_enrichment(await migrated_database(url, "bench_enrichment"))
            if args.only in (None, "sessions"):  # figures only
                await bench_sessions(await migrated_database(url, "bench_sessions"))
            if args.only in (None, "approvals"):  # figures only
                await bench_approvals(await migrated_database(url, "bench_approvals"))
            if args.only in (None, "runs"):  # figures only
                await bench_runs(await migrated_database(url, "bench_runs"))
            if args.only == "spike":  # figures only; 20,000 events drain for a long while
                await bench_spike(await migrated_database(url, "bench_spike"),
                                  args.events, args.rate)
            if args.only == "steps":  # figures only; what a Temporal step, and a layout, costs
                await bench_steps()
            if args.only == "scaleout":  # figures only; 2 x 2 on 2 cores (issue #17, item 4)
                await bench_scaleout(await migrated_database(url, "bench_scaleout"), args.events)
        finally:
            await asyncio.to_thread(pg.stop)
    return results


def main() -> None:
    """Run the benchmarks and print a summary; a missed target never changes the exit status."""
    args = parser().parse_args()
    warnings.filterwarnings("ignore", module="platformdirs")  # the Postgres wheel's XDG notice
    print(f"Switchboard benchmarks on {platform.node()}: {os.cpu_count()} CPUs,"
          f" Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    print(f"CPU check: a fixed 3M-step Python loop took {cpu_speed():.3f} s before the runs")
    results = asyncio.run(run(args))
    print(f"CPU check: {cpu_speed():.3f} s after the runs (lower is faster)")
    print(f"\n{sum(results)}/{len(results)} benchmark targets met (informational; never asserted)")


if __name__ == "__main__":
    main()
