"""``python -m tests.bench.overhead [--events 60]``: what payload encryption and tracing cost
on the path webhook received -> agent think started.

Two stacks run side by side on one Temporal server, each with its own database, API process and
platform worker: A as configured by default, B with the codec on (``SWITCHBOARD_PAYLOAD_KEYS``
in its API process, a sealing client for its worker), then, in a second pass, B traced (OTLP over
HTTP to a local sink that drops what it gets, in its API process and on its client and workers).
Events alternate A, B, B, A, ... so that both sides see the same machine: on a shared VM whose
speed changes from minute to minute, runs one after another are not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client

from infra import codec, tracing
from infra.settings import PayloadSettings, TracingSettings
from tests.bench import otlp_sink
from tests.bench.latency import WARMUP_EVENTS, TimedAgent, _one
from tests.bench.stack import bench_agent_id, dispatching_stack, temporal
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port, migrated_database, start_postgres


async def _compare(name: str, client_a: Client, client_b: Client, urls: tuple[str, str],
                   api_env: dict[str, str], events: int) -> None:
    agents = TimedAgent(bench_agent_id()), TimedAgent(bench_agent_id())
    async with dispatching_stack(client_a, urls[0], agents[0].agent_id, agents[0].think) as a, \
            dispatching_stack(client_b, urls[1], agents[1].agent_id, agents[1].think,
                              api_env=api_env) as b:
        await a.debounce(0)
        await b.debounce(0)
        for _ in range(WARMUP_EVENTS):
            await _one(a, agents[0])
            await _one(b, agents[1])
        took: tuple[list[float], list[float]] = ([], [])
        for i in range(events):
            for side in ((0, 1) if i % 2 == 0 else (1, 0)):
                sample = await _one((a, b)[side], agents[side])
                took[side].append(sample.think - sample.sent)
    for label, values in (("without", took[0]), (name, took[1])):
        print(f"  {label:<16} p50 {ms(percentile(values, 50))}  p90 {ms(percentile(values, 90))}"
              f"  p99 {ms(percentile(values, 99))}", flush=True)
    for q in (50, 99):
        delta = percentile(took[1], q) - percentile(took[0], q)
        print(f"  {name} overhead at p{q}: {delta * 1000:+.1f} ms", flush=True)


async def run(events: int) -> None:
    """Both comparisons, each on fresh databases."""
    heading("Overhead of payload encryption and tracing: received -> think started")
    print(f"  load average {os.getloadavg()[0]:.2f}; {events} events a side, alternating, after"
          f" {WARMUP_EVENTS} warm-up; session_debounce_ms 0", flush=True)
    with tempfile.TemporaryDirectory(prefix="switchboard-overhead-") as folder:
        pg, url = await start_postgres(Path(folder), "overhead_a1")
        env = await temporal()  # this process's environment: no keys, no OTEL_* (checked)
        try:
            target = env.client.service_client.config.target_host
            keys = f"bench-1:{base64.b64encode(os.urandom(32)).decode()}"
            sealing = await Client.connect(target, data_converter=codec.data_converter(
                PayloadSettings(keys=SecretStr(keys))))
            print("  codec:", flush=True)
            await _compare("codec", env.client, sealing,
                           (url, await migrated_database(url, "overhead_b1")),
                           {"SWITCHBOARD_PAYLOAD_KEYS": keys}, events)
            port = free_port()
            sink = otlp_sink.start(port)
            endpoint = f"http://127.0.0.1:{port}"
            tracing.configure(TracingSettings(traces_exporter="otlp",
                                              exporter_otlp_endpoint=endpoint), "bench-traced")
            traced = await Client.connect(target, data_converter=env.client.data_converter,
                                          interceptors=tracing.client_interceptors())
            print("  tracing (OTLP/HTTP to a local sink):", flush=True)
            await _compare("tracing", env.client, traced,
                           (await migrated_database(url, "overhead_a2"),
                            await migrated_database(url, "overhead_b2")),
                           {"OTEL_TRACES_EXPORTER": "otlp",
                            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, events)
            tracing.shutdown()  # flushes what is batched
            sink.shutdown()
            exports, size = otlp_sink.received()
            print(f"  the sink received {exports} exports, {size} bytes from side B and its"
                  " API process", flush=True)
        finally:
            await env.shutdown()
            await asyncio.to_thread(pg.stop)


def main() -> None:
    """Parse the command line and run."""
    cli = argparse.ArgumentParser(prog="python -m tests.bench.overhead", description=__doc__)
    cli.add_argument("--events", type=int, default=60, help="events measured on each side")
    if os.environ.get("SWITCHBOARD_PAYLOAD_KEYS") or TracingSettings().exporter():
        raise SystemExit("unset SWITCHBOARD_PAYLOAD_KEYS and OTEL_*: side A runs without them")
    asyncio.run(run(cli.parse_args().events))


if __name__ == "__main__":
    main()
