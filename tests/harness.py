"""Building blocks shared by the tests and the benchmarks: real servers, in-process workers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from temporalio import activity
from temporalio.worker import Worker

from api.app import create_app
from api.http_protocol import HttpProtocol
from infra import database
from infra.embedded import database_url
from infra.embedded_postgres import EmbeddedPostgres
from infra.settings import (
    ApiSettings,
    DatabaseSettings,
    PayloadSettings,
    Settings,
    TemporalSettings,
)
from workers.agent import demo_answer
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.names import THINK_ACTIVITY


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_postgres(
    folder: Path, name: str = "switchboard_test"
) -> tuple[EmbeddedPostgres, str]:
    """A real PostgreSQL + pgvector in ``folder``, migrated; returns it and its URL."""
    pg = EmbeddedPostgres(folder / "pg")
    base = await asyncio.to_thread(pg.start)
    return pg, await migrated_database(base, name)


async def migrated_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url`` and migrate it; return its URL.

    Each stack (API relay + Temporal) needs its own inbox: relays of two stacks sharing one
    database would start each other's deliveries on the wrong Temporal server.
    """
    url = database_url(server_url, name)
    await database.ensure_database(url)
    pool = await database.create_pool(url, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        await database.migrate(conn)
    await pool.close()
    return url


# The suite's payload key: every test stack seals its Temporal payloads (infra/codec.py), so the
# whole suite runs encrypted, as a deployment with SWITCHBOARD_PAYLOAD_KEYS does.
TEST_PAYLOADS = PayloadSettings(
    keys=SecretStr(f"test-1:{base64.b64encode(os.urandom(32)).decode()}"))


def payload_env() -> dict[str, str]:
    """``SWITCHBOARD_PAYLOAD_KEYS`` of the suite's stacks, for a process of ours a test starts."""
    assert TEST_PAYLOADS.keys is not None
    return {"SWITCHBOARD_PAYLOAD_KEYS": TEST_PAYLOADS.keys.get_secret_value()}


def make_settings(db_url: str, temporal_address: str, task_queue: str, **api: object) -> Settings:
    """Settings for a test stack: fresh random secrets, no environment needed."""
    return Settings(
        dev_mode=True,
        admin_token=SecretStr(secrets.token_urlsafe(24)),
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
        database=DatabaseSettings(url=db_url),
        temporal=TemporalSettings(address=temporal_address, task_queue=task_queue,
                                  payload=TEST_PAYLOADS),
        api=ApiSettings(relay_sweep_seconds=0.5, **api),  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def api_server(settings: Settings, *, run_relay: bool = True) -> AsyncIterator[str]:
    """The real API over real HTTP on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, run_relay=run_relay), host="127.0.0.1", port=port,
        log_level="warning", access_log=False, lifespan="on", http=HttpProtocol,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """Run a Temporal worker for the duration of the block."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.shutdown()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RecordingAgent:
    """A think activity that records what reached the agent and answers like the demo policy."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.seen: list[ThinkInput] = []
        self.arrived = asyncio.Event()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Record the input; answer at once."""
        self.seen.append(inp)
        self.arrived.set()
        answer = demo_answer(self.agent_id, inp.event)
        words = len((inp.event.text or "").split())
        return ThinkOutput(final=answer, usage=Usage(model="recording", input_tokens=words,
                                                     output_tokens=len(answer.split())))

    async def wait_for(self, count: int, within: float = 20.0) -> list[ThinkInput]:
        """Wait until ``count`` think calls arrived."""
        async with asyncio.timeout(within):
            while len(self.seen) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.seen
