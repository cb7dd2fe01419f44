"""Group commit: deliveries that arrive together go to the inbox in one INSERT."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg

from infra.inbox.store import insert_deliveries, insert_delivery


@dataclass
class _Delivery:
    tenant_id: str
    provider: str
    dedup_key: str
    event_name: str | None
    body: bytes
    stored: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, result: int | Exception | None) -> None:
        if self.stored.done():  # the caller went away; its row is written all the same
            return
        if isinstance(result, BaseException):
            self.stored.set_exception(result)
        else:
            self.stored.set_result(result)


# Errors that mean the database (or the way to it) is away, not that a row is wrong: a batch
# that fails with one of these is answered as a whole, since writing its rows one by one would
# only knock on a closed door once per row.
_CONNECTION_LOST = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                    asyncpg.CannotConnectNowError)


class InboxWriter:
    """Commits deliveries to the inbox, grouping the ones that arrive together (group commit).

    A delivery is written at once while a lane is free. Deliveries that arrive while every lane
    is busy wait for one and then go together, in one INSERT. Each caller is answered only after
    the statement carrying its row has committed, so nothing is acknowledged that is not stored.
    Idle, this adds nothing; under load, a batch shares one round trip, one commit and one pool
    checkout. A batch that fails for any reason but a lost connection (a redelivery, a tenant
    gone, a value PostgreSQL refuses) is retried row by row, so one bad row fails alone and every
    caller gets its own answer: its id, None, or the exception its own row raised.
    """

    def __init__(self, pool: asyncpg.Pool, *, lanes: int = 2, max_batch: int = 64) -> None:
        self._pool = pool
        self._lanes = lanes
        self._max_batch = max_batch
        self._waiting: list[_Delivery] = []
        self._busy = 0
        self._drains: set[asyncio.Task[None]] = set()

    async def insert(self, tenant_id: str, provider: str, dedup_key: str,
                     event_name: str | None, body: bytes) -> int | None:
        """Commit a delivery; its id, or None when it was stored before (a redelivery)."""
        delivery = _Delivery(tenant_id, provider, dedup_key, event_name, body)
        self._waiting.append(delivery)
        if self._busy < self._lanes:
            self._busy += 1
            drain = asyncio.create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await delivery.stored

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._write(batch)
        finally:
            self._busy -= 1

    async def _write(self, batch: list[_Delivery]) -> None:
        try:
            if len(batch) == 1:
                await self._write_each(batch)
                return
            try:
                ids = await insert_deliveries(
                    self._pool, [(d.tenant_id, d.provider, d.dedup_key, d.event_name, d.body)
                                 for d in batch])
            except _CONNECTION_LOST as exc:  # the database is away: every caller hears it (503)
                for d in batch:
                    d.settle(exc)
                return
            except Exception:  # some row is refused; find which, and answer each on its own
                await self._write_each(batch)
                return
            for d in batch:
                d.settle(ids[(d.tenant_id, d.provider, d.dedup_key)])
        except asyncio.CancelledError:  # shutting down mid-write
            for d in batch:
                d.stored.cancel()
            raise
        except Exception as exc:  # never leave a caller waiting (settle skips the answered)
            for d in batch:
                d.settle(exc)

    async def _write_each(self, batch: list[_Delivery]) -> None:
        for at, d in enumerate(batch):
            try:
                d.settle(await insert_delivery(self._pool, d.tenant_id, d.provider, d.dedup_key,
                                               d.event_name, d.body))
            except _CONNECTION_LOST as exc:  # this row and the ones after it: 503, no retries
                for rest in batch[at:]:
                    rest.settle(exc)
                return
            except Exception as exc:  # this row's own failure (a bad value, a tenant gone)
                d.settle(exc)
