"""One benchmark server per process: ``python -m tests.bench.serve --kind app|baseline --port N``.

Settings come from the environment (``DATABASE_URL``, ``SWITCHBOARD_MASTER_KEY``,
``SWITCHBOARD_ADMIN_TOKEN``, ``SWITCHBOARD_DEV_MODE``, ``TEMPORAL_*``), as in production. The
server runs in its own process so the load generator never shares its event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from infra.embedded import wait_for_port
from infra.settings import Settings


def main(argv: list[str] | None = None) -> None:
    """Serve the real API (relay optional) or the bare baseline until SIGINT/SIGTERM."""
    cli = argparse.ArgumentParser(prog="python -m tests.bench.serve")
    cli.add_argument("--kind", choices=("app", "baseline"), required=True)
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--relay", action="store_true", help="run the inbox relay (app only)")
    args = cli.parse_args(argv)
    settings = Settings()
    if args.kind == "app":
        from api.app import create_app

        app = create_app(settings, run_relay=args.relay)
    else:
        from tests.bench.baseline import create_baseline_app

        app = create_baseline_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


@dataclass(frozen=True)
class Served:
    """A running server process."""

    url: str
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the process has used so far, from /proc."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def served(
    kind: str, port: int, env: Mapping[str, str], *, relay: bool = False,
    log: Path | None = None,
) -> AsyncIterator[Served]:
    """Start a server process, wait until it listens, yield it, stop it.

    With ``log``, the server's output goes to that file instead of this terminal.
    """
    argv = [sys.executable, "-m", "tests.bench.serve", "--kind", kind, "--port", str(port)]
    with contextlib.ExitStack() as files:
        sink = files.enter_context(log.open("wb")) if log is not None else None
        proc = await asyncio.create_subprocess_exec(
            *argv, *(["--relay"] if relay else []), env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink,
        )
    try:
        # uvicorn binds only once the lifespan (pool, migrations) has started.
        listening = asyncio.create_task(wait_for_port("127.0.0.1", port, 60))
        exited = asyncio.create_task(proc.wait())
        await asyncio.wait({listening, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            listening.cancel()
            tail = "" if log is None else (
                "\n" + (await asyncio.to_thread(log.read_text, errors="replace"))[-2000:])
            raise RuntimeError(f"{kind} server exited with {proc.returncode}{tail}")
        listening.result()
        yield Served(f"http://127.0.0.1:{port}", port, proc.pid)
    finally:
        await stop(proc)


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Stop a child as Ctrl-C would (SIGINT), killing it if it has not exited within 15 s."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


if __name__ == "__main__":
    main()
