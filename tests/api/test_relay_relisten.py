"""The relay listens again after its database connection is cut, and catches up at once.

Deliveries committed by another API process reach this relay by NOTIFY. If its LISTEN died with
the connection and never came back, they would wait for the sweep (here a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import asyncpg
from temporalio.client import Client

from infra.database import create_pool
from infra.inbox.relay import CHANNEL, Relay
from infra.inbox.store import insert_delivery
from infra.settings import TemporalSettings
from infra.temporal import LazyClient
from tests.harness import migrated_database

SWEEP_SECONDS = 60.0  # long enough that only LISTEN (or the catch-up) can move a row in time
WITHIN = 10.0


async def test_relay_hears_other_processes_again_after_its_connection_is_cut(
    pg_url: str, temporal_client: Client,
) -> None:
    url = await migrated_database(pg_url, f"relisten_{uuid.uuid4().hex[:8]}")
    pool = await create_pool(url, min_size=1, max_size=4)
    other = await asyncpg.connect(url)  # another API process: its own commits and NOTIFYs
    queue = f"nobody-{uuid.uuid4().hex[:6]}"  # the workflows only need to exist
    address = temporal_client.service_client.config.target_host
    relay = Relay(pool, LazyClient(TemporalSettings(address=address, task_queue=queue)), queue,
                  sweep_seconds=SWEEP_SECONDS, batch=10)
    await other.execute("INSERT INTO tenants (id, name) VALUES ('relisten', 'relisten')")
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # past its first pump: from here only a NOTIFY moves a row
        first = await _deliver(other, "before")
        await _relayed(other, first)

        cut = await other.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cut >= 1  # the relay's listening connection among them
        started = time.monotonic()
        second = await _deliver(other, "during")  # its NOTIFY may come before the LISTEN
        await _relayed(other, second)
        third = await _deliver(other, "after")
        await _relayed(other, third)
        print(f"relay after a cut connection: two deliveries relayed in "
              f"{(time.monotonic() - started) * 1000:.0f} ms (sweep {SWEEP_SECONDS:.0f} s)")
    finally:
        running.cancel()
        async with asyncio.timeout(WITHIN):  # and it stops when told (the API's shutdown)
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await other.close()
        await pool.close()


async def _deliver(conn: asyncpg.Connection, name: str) -> int:
    """Commit a delivery and ring the doorbell, as another API process does."""
    inbox_id = await insert_delivery(conn, "relisten", "github", f"{name}-{uuid.uuid4()}",
                                     "issues", b"{}")
    assert inbox_id is not None
    await conn.execute(f"NOTIFY {CHANNEL}")
    return inbox_id


async def _relayed(conn: asyncpg.Connection, inbox_id: int) -> None:
    async with asyncio.timeout(WITHIN):
        while await conn.fetchval("SELECT relayed_at FROM inbox WHERE id = $1", inbox_id) is None:
            await asyncio.sleep(0.05)
