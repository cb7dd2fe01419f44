"""A lean HTTP/1.1 load generator: keep-alive connections, a fixed number of requests in flight.

Raw asyncio streams instead of httpx so that the client costs a few microseconds per request and
is never what limits the servers (each run reports the client's own CPU use to show it).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
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
