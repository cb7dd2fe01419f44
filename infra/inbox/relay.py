"""The relay: starts one EventWorkflow per inbox row, idempotently.

Woken at once by the API process that committed a delivery (the ``Doorbell``), by LISTEN/NOTIFY
for deliveries committed by other API processes, and by a periodic sweep. The LISTEN survives a
lost database connection (``infra.listener``) and looks at the inbox as soon as it listens again.
Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several API processes can relay side by side.
The workflow id comes from the delivery identity, so a row started twice (a crash between start
and mark) is still one workflow. While Temporal is unreachable the rows simply wait, and the
relay backs off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

import asyncpg
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from infra.inbox.store import PendingDelivery, claim_pending, mark_relayed
from infra.listener import Listener
from infra.temporal import LazyClient
from workflows import search
from workflows.contracts import EVENT_VERSION, EventInput, EventStatus, Provider
from workflows.event import EventWorkflow
from workflows.ids import event_workflow_id

log = logging.getLogger(__name__)

CHANNEL = "switchboard_inbox"
_MAX_BACKOFF = 10.0
_NOTIFY_TIMEOUT = 5.0


class Relay:
    """Moves inbox rows into Temporal."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        temporal: LazyClient,
        task_queue: str,
        *,
        sweep_seconds: float,
        batch: int,
    ) -> None:
        self._pool = pool
        self._temporal = temporal
        self._task_queue = task_queue
        self._sweep = sweep_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._db_back = asyncio.Event()

    async def run(self) -> None:
        """Relay until cancelled."""
        listener = Listener(self._pool, {CHANNEL: self._on_notify}, name="relay",
                            catch_up=self._caught_up)
        await listener.start(within=0)
        try:
            await self._pump_forever()
        finally:
            await listener.stop()

    async def _pump_forever(self) -> None:
        backoff = 0.0
        while True:
            try:
                self._wake.clear()
                while await self.pump() == self._batch:
                    pass
                backoff = 0.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._sweep)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Temporal or the database is away: rows wait in the inbox
                backoff = min(max(backoff * 2, 0.25), _MAX_BACKOFF)
                log.warning("relay paused %.2fs: %s: %s", backoff, type(exc).__name__, exc)
                if _is_temporal_connection_error(exc):
                    self._temporal.forget()
                self._db_back.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._db_back.wait(), backoff)

    def _on_notify(self, _payload: str) -> None:
        self._wake.set()

    async def _caught_up(self, _since: datetime) -> None:
        # The database is back: deliveries NOTIFYed meanwhile are looked at now, not after the
        # sweep or the rest of a backoff.
        self._wake.set()
        self._db_back.set()

    def wake(self) -> None:
        """Look at the inbox now (a delivery was just committed)."""
        self._wake.set()

    async def pump(self) -> int:
        """Start workflows for one batch of pending rows; return how many were claimed."""
        client = await self._temporal.get()
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await claim_pending(conn, self._batch)
            if not pending:
                return 0
            results = await asyncio.gather(
                *(self._start(client, row) for row in pending), return_exceptions=True
            )
            started = [row.id for row, res in zip(pending, results, strict=True) if res is None]
            if started:
                await mark_relayed(conn, started)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        return len(pending)

    async def _start(self, client: Client, row: PendingDelivery) -> None:
        try:
            await client.start_workflow(
                EventWorkflow.run,
                EventInput(
                    inbox_id=row.id, tenant_id=row.tenant_id,
                    provider=Provider(row.provider), dedup_key=row.dedup_key,
                    version=EVENT_VERSION,
                ),
                id=event_workflow_id(row.tenant_id, row.provider, row.dedup_key),
                task_queue=self._task_queue,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(search.TENANT, row.tenant_id),
                    SearchAttributePair(search.STATUS, EventStatus.RECEIVED.value),
                ]),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=timedelta(seconds=5),
            )
        except WorkflowAlreadyStartedError:
            return  # already ran to completion: that is the idempotency we want


class Doorbell:
    """Tells relays that the inbox has new rows.

    The relay of this process is woken at once, in memory. The relays of other API processes
    hear one ``NOTIFY`` per short tick, sent after the commit on its own connection: a NOTIFY
    inside the insert would hold PostgreSQL's global notify lock through every commit.
    """

    def __init__(self, pool: asyncpg.Pool, local: Relay | None, tick: float = 0.05) -> None:
        self._pool = pool
        self._local = local
        self._tick = tick
        self._pending: asyncio.Task[None] | None = None

    def ring(self) -> None:
        """A delivery was committed."""
        if self._local is not None:
            self._local.wake()
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        try:
            await asyncio.sleep(self._tick)
            async with asyncio.timeout(_NOTIFY_TIMEOUT):  # a hung database must not mute it
                await self._pool.execute(f"NOTIFY {CHANNEL}")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.debug("inbox NOTIFY skipped: %s", type(exc).__name__)  # the sweep covers it
        finally:
            self._pending = None


def _is_temporal_connection_error(exc: Exception) -> bool:
    """A failure that may mean the cached Temporal client is broken (not a database error)."""
    return not isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError)
