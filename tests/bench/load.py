"""A lean HTTP/1.1 load generator: keep-alive connections, a fixed number of requests in flight
(``drive``) or requests sent at a fixed rate whatever the answers (``open_loop``).

Raw asyncio streams instead of httpx so that the client costs a few microseconds per request and
is never what limits the servers (each run reports the client's own CPU use to show it).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class RunResult:
    """What one timed run measured."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def github_requests(path: str, headers: dict[str, str], body: bytes) -> Callable[[], bytes]:
    """A factory of complete requests that differ only in a fresh ``X-GitHub-Delivery``.

    GitHub signs the body alone, so the signature in ``headers`` is computed once, before timing,
    and every request costs the client the same whichever server it goes to.
    """
    fixed = {k: v for k, v in headers.items() if k.lower() not in ("x-github-delivery", "host",
                                                                   "content-length")}
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
    prefix, suffix = (head + "X-GitHub-Delivery: ").encode(), b"\r\n\r\n" + body
    return lambda: prefix + str(uuid.uuid4()).encode() + suffix


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
    end = lower.index(b"\r\n", at + 2)
    length = int(lower[at + 17:end])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, make: Callable[[], bytes], deadline: float, out: RunResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = make()
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            out.latencies.append(time.perf_counter() - started)
            out.statuses[status] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def drive(
    host: str, port: int, make: Callable[[], bytes], *, concurrency: int, seconds: float
) -> RunResult:
    """Keep ``concurrency`` requests in flight for ``seconds``; every response is read fully."""
    out = RunResult()
    cpu, wall = time.process_time(), time.perf_counter()
    deadline = wall + seconds
    await asyncio.gather(*(_connection(host, port, make, deadline, out)
                           for _ in range(concurrency)))
    out.elapsed = time.perf_counter() - wall
    out.client_cpu = (time.process_time() - cpu) / out.elapsed
    return out


def raw_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One complete HTTP/1.1 POST, built once before the clock starts."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()
                    if k.lower() not in ("host", "content-length"))
    return (head + "\r\n").encode() + body


@dataclass
class OpenLoopResult:
    """What an open-loop run measured, one entry per request in the order given."""

    scheduled: list[float]  # perf_counter the request was due
    sent: list[float]  # perf_counter it was written
    latencies: list[float]  # due -> response read, seconds (NaN for a connection error)
    statuses: list[int]  # the HTTP status, 0 for a connection error
    errors: Counter[str] = field(default_factory=Counter)  # connection errors by exception
    client_cpu: float = 0.0  # this process' CPU, cores, while sending

    @property
    def send_rate(self) -> float:
        """Requests written per second, first write to last."""
        span = max(self.sent) - min(self.sent)
        return (len(self.sent) - 1) / span if span > 0 else float("nan")


async def open_loop(host: str, port: int, requests: Sequence[bytes], *, rate: float,
                    connections: int) -> OpenLoopResult:
    """Send ``requests`` open-loop: request ``i`` is due at ``t0 + i / rate``, whatever the
    answers before it, and goes out on whichever of ``connections`` keep-alive connections is
    free (one request at a time on each, no pipelining). Latency runs from when a request was
    due, not from when it was written, so a server that falls behind shows in it (no
    coordinated omission). Every response is read fully; a broken connection is noted, its
    request counts as not answered (status 0) and a new connection takes its place."""
    n = len(requests)
    out = OpenLoopResult([0.0] * n, [0.0] * n, [math.nan] * n, [0] * n)
    streams = [await asyncio.open_connection(host, port) for _ in range(connections)]
    order = iter(range(n))  # shared: each free connection takes the next due request
    cpu = time.process_time()
    t0 = time.perf_counter() + 0.05

    async def connection(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None
                         ) -> None:
        for i in order:
            due = out.scheduled[i] = t0 + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            out.sent[i] = time.perf_counter()
            try:
                if stream is None:
                    stream = await asyncio.open_connection(host, port)
                stream[1].write(requests[i])
                out.statuses[i] = await _read_response(stream[0])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError, RuntimeError) as exc:
                out.errors[type(exc).__name__] += 1
                if stream is not None:
                    stream[1].close()
                stream = None
                continue
            out.latencies[i] = time.perf_counter() - due
        if stream is not None:
            stream[1].close()
            with contextlib.suppress(OSError):
                await stream[1].wait_closed()

    await asyncio.gather(*(connection(s) for s in streams))
    out.client_cpu = (time.process_time() - cpu) / (time.perf_counter() - t0)
    return out
