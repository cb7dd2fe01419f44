"""LISTEN that outlives the connection it runs on: it listens again, then catches up.

A LISTEN lives on one connection, and that connection dies with the database (a restart, a
failover, a cut network). asyncpg then hands the dead connection back to the pool by itself, and
the proxy the listener held answers every call, ``is_closed()`` included, with InterfaceError:
so it is never probed. A termination callback says the connection is gone, a periodic
``SELECT clock_timestamp()`` finds a socket that died without a word, and on either the listener
takes a new connection, LISTENs again and calls ``catch_up`` with the database time at which it
last knew it was listening: whatever was NOTIFYed after that may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import asyncpg

log = logging.getLogger(__name__)

Handler = Callable[[str], None]
CatchUp = Callable[[datetime], Awaitable[None]]
_Callback = Callable[[object, int, str, object], None]

_PROBE_TIMEOUT = 5.0
_RELEASE_TIMEOUT = 2.0


class Listener:
    """Listens on some channels of the pool's database until stopped, whatever happens to it."""

    def __init__(self, pool: asyncpg.Pool, handlers: Mapping[str, Handler], *, name: str,
                 catch_up: CatchUp | None = None, probe_every: float = 10.0,
                 max_backoff: float = 1.0) -> None:
        self._pool = pool
        self._handlers = dict(handlers)
        self._name = name
        self._catch_up = catch_up
        self._probe_every = probe_every
        self._max_backoff = max_backoff
        self._listened_at: datetime | None = None
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """Whether a connection is listening right now."""
        return self._listening.is_set()

    async def start(self, within: float = 10.0) -> None:
        """Start listening; wait (up to ``within`` seconds) until the first LISTEN is in place."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listener: {self._name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), within)

    async def stop(self) -> None:
        """Stop listening and give the connection back; never raises."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the database is away: listen again once it is back
                level = logging.DEBUG if backoff else logging.WARNING  # once per outage
                backoff = min(max(backoff * 2, 0.1), self._max_backoff)
                log.log(level, "%s not listening (%s); trying again every %.1fs at most",
                        self._name, type(err).__name__, self._max_backoff)
                await asyncio.sleep(backoff)
            else:
                backoff = 0.0

    async def _session(self) -> None:
        """Listen over one connection until it is lost."""
        conn = await self._pool.acquire()
        lost = asyncio.Event()

        def on_lost(_: object) -> None:
            lost.set()

        conn.add_termination_listener(on_lost)
        callbacks = {channel: _callback(handler) for channel, handler in self._handlers.items()}
        try:
            for channel, callback in callbacks.items():
                await conn.add_listener(channel, callback)
            now: datetime = await conn.fetchval("SELECT clock_timestamp()")
            self._listening.set()
            if self._listened_at is not None:
                log.info("%s listening again", self._name)
                if self._catch_up is not None:
                    await self._catch_up(self._listened_at)
            self._listened_at = now
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._probe_every)
                if not lost.is_set():
                    self._listened_at = await conn.fetchval(
                        "SELECT clock_timestamp()", timeout=_PROBE_TIMEOUT)
            log.warning("%s lost its database connection", self._name)
        finally:
            self._listening.clear()
            await self._give_back(conn, on_lost, callbacks)

    async def _give_back(self, conn: asyncpg.Connection, on_lost: Callable[[object], None],
                         callbacks: Mapping[str, _Callback]) -> None:
        """Return the connection to the pool (a no-op once asyncpg took a dead one back)."""
        with contextlib.suppress(Exception):  # a dead connection has nothing left to remove
            conn.remove_termination_listener(on_lost)
            async with asyncio.timeout(_RELEASE_TIMEOUT):
                for channel, callback in callbacks.items():
                    await conn.remove_listener(channel, callback)
        try:  # a connection that does not answer is terminated
            await self._pool.release(conn, timeout=_RELEASE_TIMEOUT)
        except Exception as err:
            log.debug("%s: connection not released cleanly: %s", self._name, type(err).__name__)


def _callback(handler: Handler) -> _Callback:
    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        handler(str(payload))

    return on_notify
