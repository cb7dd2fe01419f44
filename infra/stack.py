"""``switchboard up``: start, supervise and stop the embedded stack.

Order: PostgreSQL (migrated, demo tenant seeded), Temporal, then our own processes: the API
(with the relay), the platform worker and the demo agent. A child that dies is restarted with
backoff; Ctrl-C or SIGTERM stops the children in reverse order, then Temporal, then PostgreSQL.

Each child gets an environment of its own (see ``child_env``): the root secrets reach only the
API and the platform worker. Each child's output goes to its log file in the data dir line by
line (and to our terminal), so a log keeps every line even if ``up`` itself is killed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from infra import child_env, database, embedded, embedded_postgres, readiness
from infra.directory import agents as agent_dir
from infra.directory import tenants
from infra.settings import Settings

DEMO_TENANT = "demo"
DEMO_AGENT = "demo"
_STOP_GRACE = 10.0
_READY_WITHIN = 60.0


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


async def seed_demo(pool: asyncpg.Pool) -> list[str]:
    """Create the demo tenant and its demo agent if missing; say what was created."""
    done = []
    if await tenants.create_tenant(pool, DEMO_TENANT, "Demo tenant", [DEMO_AGENT]):
        done.append(f"created tenant {DEMO_TENANT!r} (default agent {DEMO_AGENT!r})")
    if await agent_dir.create_agent(pool, DEMO_TENANT, DEMO_AGENT, "Demo agent",
                                    role="offline demo policy", max_turns=4):
        done.append(f"created agent {DEMO_AGENT!r}")
    return done


@dataclass
class Child:
    """A supervised process of ours, its output prefixed on our terminal."""

    name: str
    argv: list[str]
    log_file: Path
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)


class Stack:
    """The running embedded stack."""

    def __init__(self, settings: Settings, data_dir: Path, api_port: int, temporal_port: int,
                 ui_port: int, *, wait_seconds: float = _READY_WITHIN) -> None:
        self.settings = settings
        self.wait_seconds = wait_seconds  # how long external PostgreSQL/Temporal may take
        self.data_dir = data_dir.resolve()
        self.api_port = api_port
        self.temporal_port = temporal_port
        self.ui_port = ui_port
        self.secrets: dict[str, str] = {}  # the root secrets, for the API and the worker
        self.token_from_env = "SWITCHBOARD_ADMIN_TOKEN" in os.environ
        self.temporal_env: dict[str, str] = {}  # TEMPORAL_* decided here (embedded server)
        self.postgres: embedded_postgres.EmbeddedPostgres | None = None
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
        db_url = self.secrets.get("DATABASE_URL")
        if db_url is None:
            _say(f"starting PostgreSQL {embedded_postgres.VERSION} + pgvector (embedded) ...")
            self.postgres = embedded_postgres.EmbeddedPostgres(self.data_dir / "postgres")
            if self.postgres.pending_upgrade() in embedded_postgres.UPGRADABLE:
                _say("upgrading the older PostgreSQL data in the data dir (old copy kept) ...")
            base = await asyncio.to_thread(self.postgres.start)
            db_url = embedded.database_url(base, "switchboard")
        else:
            _say(f"using PostgreSQL at {readiness.describe_database(db_url)} (DATABASE_URL)")
            await readiness.wait_for_postgres(db_url, self.wait_seconds)
        await database.ensure_database(db_url)
        pool = await database.create_pool(db_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                applied = await database.migrate(conn)
            _say(f"database ready ({len(applied)} migration(s) applied)")
            for line in await seed_demo(pool):
                _say(line)
        finally:
            await pool.close()
        self.secrets["DATABASE_URL"] = db_url

        if "TEMPORAL_ADDRESS" not in os.environ:
            host = "127.0.0.1"
            for port in (self.temporal_port, self.ui_port):
                if not embedded.port_is_free(host, port):
                    raise RuntimeError(f"port {port} is taken; pass --temporal-port/--ui-port")
            _say("starting Temporal dev server (embedded, SQLite with WAL) ...")
            args = embedded.temporal_dev_args(
                self.data_dir / "temporal.db", ip=host, port=self.temporal_port,
                ui_port=self.ui_port, codec_endpoint=f"http://{host}:{self.api_port}/codec",
            )
            self.temporal = Child("temporal", [str(embedded.temporal_binary()), *args],
                                  self.data_dir / "logs" / "temporal.log",
                                  child_env.temporal_env(os.environ))
            await self._spawn(self.temporal, echo=False)
            await embedded.wait_for_port(host, self.temporal_port, within=60)
            self.temporal_env["TEMPORAL_ADDRESS"] = f"{host}:{self.temporal_port}"
        else:
            _say(f"using Temporal at {self.settings.temporal.address} (TEMPORAL_ADDRESS)")
            await readiness.wait_for_temporal(self.settings.temporal, self.wait_seconds)

        me = [sys.executable, "-m", "cli"]
        logs = self.data_dir / "logs"
        platform = {**os.environ, **self.temporal_env}
        if self.temporal is not None:  # the embedded UI's origins may call /codec (its decode)
            platform.setdefault("SWITCHBOARD_PAYLOAD_UI_ORIGINS", json.dumps(
                [f"http://{name}:{self.ui_port}" for name in ("127.0.0.1", "localhost")]))
        self.children = [
            Child("api", [*me, "api", "--port", str(self.api_port)], logs / "api.log",
                  child_env.platform_env(platform, self.secrets, admin=True)),
            Child("worker", [*me, "worker"], logs / "worker.log",
                  child_env.platform_env(platform, self.secrets, admin=False)),
            Child(f"agent:{DEMO_AGENT}",
                  [*me, "agent", "run", "--agent-id", DEMO_AGENT, "--tenant", DEMO_TENANT],
                  logs / "agent-demo.log",
                  child_env.agent_env(os.environ, self.temporal_env, self.secrets)),
        ]
        for child in self.children:
            await self._spawn(child)
        await self._wait_until_ready()

    async def _wait_until_ready(self) -> None:
        """Wait until the API answers /readyz with 200 (its database is reachable)."""
        url = f"http://{self.settings.api.host}:{self.api_port}/readyz"
        deadline = time.monotonic() + _READY_WITHIN
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(url)).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the API is not ready at {url} after {_READY_WITHIN:.0f}s")
                await asyncio.sleep(0.2)

    def _local_secrets(self) -> None:
        """Take the root secrets out of our own environment (PostgreSQL inherits it) into
        ``self.secrets``; the admin token and master key are read or made in the data dir
        when not given."""
        for name in child_env.ROOT_SECRETS:
            if (given := os.environ.pop(name, None)) is not None:
                self.secrets[name] = given
        for name, file, make in (("SWITCHBOARD_ADMIN_TOKEN", "admin-token", "token"),
                                 ("SWITCHBOARD_MASTER_KEY", "master.key", "key")):
            if name not in self.secrets:
                self.secrets[name] = load_or_create_secret(self.data_dir / file, make)
        if child_env.PAYLOAD_KEYS not in self.secrets:  # Temporal payloads sealed (infra/codec.py)
            key = load_or_create_secret(self.data_dir / "payload.key", "key")
            self.secrets[child_env.PAYLOAD_KEYS] = f"dev-1:{key}"

    async def _spawn(self, child: Child, echo: bool = True) -> None:
        # Unbuffered: the pump writes whole lines, each reaches the file at once.
        out = await asyncio.to_thread(open, child.log_file, "ab", 0)
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv, env=child.env, stdin=asyncio.subprocess.DEVNULL,
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
        token_hint = ("$SWITCHBOARD_ADMIN_TOKEN" if self.token_from_env
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
