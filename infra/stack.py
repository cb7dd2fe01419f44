"""``switchboard up``: start, supervise and stop the embedded stack.

Order: PostgreSQL (migrated, demo tenant seeded), Temporal, then our own processes: the API
(with the relay), the platform worker and the demo agent. A child that dies is restarted with
backoff; Ctrl-C or SIGTERM stops the children in reverse order, then Temporal, then PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from infra import database, embedded
from infra.settings import Settings
from infra.store import directory

DEMO_TENANT = "demo"
DEMO_AGENT = "demo"
_STOP_GRACE = 10.0


def _say(message: str) -> None:
    print(f"switchboard | {message}", flush=True)


def load_or_create_secret(path: Path, make: str) -> str:
    """Read a local secret file, creating it (mode 0600) on first start."""
    if path.exists():
        return path.read_text().strip()
    value = (base64.b64encode(secrets.token_bytes(32)).decode() if make == "key"
             else secrets.token_urlsafe(32))
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value


@dataclass
class Child:
    """A supervised process of ours, its output prefixed on our terminal."""

    name: str
    argv: list[str]
    log_file: Path
    proc: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)


class Stack:
    """The running embedded stack."""

    def __init__(self, settings: Settings, data_dir: Path, api_port: int, temporal_port: int,
                 ui_port: int) -> None:
        self.settings = settings
        self.data_dir = data_dir.resolve()
        self.api_port = api_port
        self.temporal_port = temporal_port
        self.ui_port = ui_port
        self.env = dict(os.environ)
        self.postgres: embedded.EmbeddedPostgres | None = None
        self.temporal: Child | None = None
        self.children: list[Child] = []
        self.stopping = asyncio.Event()
        self._pumps: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        """Bring everything up, wait for a stop signal, bring everything down."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            await self._start()
            self._banner()
            await self._supervise()
            return 0
        except Exception as exc:
            _say(f"error: {exc}")
            return 1
        finally:
            await self._stop()

    async def _start(self) -> None:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._local_secrets()
        db_url = os.environ.get("DATABASE_URL")
        if db_url is None:
            _say("starting PostgreSQL 16 + pgvector (embedded) ...")
            self.postgres = embedded.EmbeddedPostgres(self.data_dir / "postgres")
            base = await asyncio.to_thread(self.postgres.start)
            db_url = embedded.database_url(base, "switchboard")
        else:
            _say("using PostgreSQL at DATABASE_URL")
        await database.ensure_database(db_url)
        pool = await database.create_pool(db_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                applied = await database.migrate(conn)
            _say(f"database ready ({len(applied)} migration(s) applied)")
            await self._seed_demo(pool)
        finally:
            await pool.close()
        self.env["DATABASE_URL"] = db_url

        if "TEMPORAL_ADDRESS" not in os.environ:
            host = "127.0.0.1"
            for port in (self.temporal_port, self.ui_port):
                if not embedded.port_is_free(host, port):
                    raise RuntimeError(f"port {port} is taken; pass --temporal-port/--ui-port")
            _say("starting Temporal dev server (embedded, SQLite with WAL) ...")
            args = embedded.temporal_dev_args(
                self.data_dir / "temporal.db", ip=host, port=self.temporal_port,
                ui_port=self.ui_port,
            )
            self.temporal = Child("temporal", [str(embedded.temporal_binary()), *args],
                                  self.data_dir / "logs" / "temporal.log")
            await self._spawn(self.temporal, echo=False)
            await embedded.wait_for_port(host, self.temporal_port, within=60)
            self.env["TEMPORAL_ADDRESS"] = f"{host}:{self.temporal_port}"
        else:
            _say(f"using Temporal at {os.environ['TEMPORAL_ADDRESS']}")

        me = [sys.executable, "-m", "infra.cli"]
        logs = self.data_dir / "logs"
        self.children = [
            Child("api", [*me, "api", "--port", str(self.api_port)], logs / "api.log"),
            Child("worker", [*me, "worker"], logs / "worker.log"),
            Child(f"agent:{DEMO_AGENT}",
                  [*me, "agent", "run", "--agent-id", DEMO_AGENT, "--tenant", DEMO_TENANT],
                  logs / "agent-demo.log"),
        ]
        for child in self.children:
            await self._spawn(child)
        await embedded.wait_for_port(self.settings.api.host, self.api_port, within=60)

    def _local_secrets(self) -> None:
        if "SWITCHBOARD_ADMIN_TOKEN" not in os.environ:
            self.env["SWITCHBOARD_ADMIN_TOKEN"] = load_or_create_secret(
                self.data_dir / "admin-token", "token")
        if "SWITCHBOARD_MASTER_KEY" not in os.environ:
            self.env["SWITCHBOARD_MASTER_KEY"] = load_or_create_secret(
                self.data_dir / "master.key", "key")

    async def _seed_demo(self, pool: asyncpg.Pool) -> None:
        if await directory.create_tenant(pool, DEMO_TENANT, "Demo tenant", [DEMO_AGENT]):
            _say(f"created tenant {DEMO_TENANT!r} (default agent {DEMO_AGENT!r})")
        if await directory.create_agent(pool, DEMO_TENANT, DEMO_AGENT, "Demo agent",
                                        role="offline demo policy", max_turns=4):
            _say(f"created agent {DEMO_AGENT!r}")

    async def _spawn(self, child: Child, echo: bool = True) -> None:
        out = await asyncio.to_thread(open, child.log_file, "ab")
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if echo else out, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        if echo:
            task = asyncio.create_task(self._pump(child, child.proc, out))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)
        else:
            out.close()

    @staticmethod
    async def _pump(child: Child, proc: asyncio.subprocess.Process, out: object) -> None:
        assert proc.stdout is not None
        with out:  # type: ignore[attr-defined]
            async for line in proc.stdout:
                out.write(line)  # type: ignore[attr-defined]
                print(f"{child.name:>11} | {line.decode(errors='replace').rstrip()}", flush=True)

    def _banner(self) -> None:
        api = f"http://{self.settings.api.host}:{self.api_port}"
        token_hint = ("$SWITCHBOARD_ADMIN_TOKEN" if "SWITCHBOARD_ADMIN_TOKEN" in os.environ
                      else f"$(cat {self.data_dir / 'admin-token'})")
        lines = [
            "Switchboard is up.",
            f"  API          {api}",
            f"  API docs     {api}/docs",
            f"  Webhooks     {api}/webhooks/{{github|slack|clickup}}/{{tenant}}",
        ]
        if self.temporal is not None:
            lines.append(f"  Temporal UI  http://127.0.0.1:{self.ui_port}/namespaces/default/workflows")
        lines += [
            f"  Admin auth   curl -H \"Authorization: Bearer {token_hint}\" {api}/admin/tenants",
            f"  Data dir     {self.data_dir}  (logs in {self.data_dir / 'logs'})",
            f"  Demo         tenant {DEMO_TENANT!r}, agent {DEMO_AGENT!r} (offline policy)",
            "Press Ctrl-C to stop.",
        ]
        for line in lines:
            _say(line)

    async def _supervise(self) -> None:
        watched = [c for c in [self.temporal, *self.children] if c is not None]
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 0.5)
            for child in watched:
                if self.stopping.is_set() or child.proc is None or child.proc.returncode is None:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                if len(child.restarts) > 5:
                    raise RuntimeError(f"{child.name} keeps exiting; see {child.log_file}")
                _say(f"{child.name} exited with {child.proc.returncode}; restarting")
                await asyncio.sleep(min(2 ** len(child.restarts) / 4, 5))
                await self._spawn(child, echo=child is not self.temporal)

    async def _stop(self) -> None:
        _say("stopping ...")
        for child in [*reversed(self.children), self.temporal]:
            if child is None or child.proc is None or child.proc.returncode is not None:
                continue
            child.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.proc.wait(), _STOP_GRACE)
            except TimeoutError:
                _say(f"{child.name} did not stop in {_STOP_GRACE:.0f}s; killing it")
                child.proc.kill()
                await child.proc.wait()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        _say("stopped")
