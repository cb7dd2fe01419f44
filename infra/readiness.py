"""Start-up readiness of external services: wait for PostgreSQL and Temporal, then give up clearly.

In a compose stack or on Kubernetes the database and Temporal start alongside us, so the first
connection attempts are refused for a while. Start-up is outside Temporal, so tenacity does the
retrying here (Temporal owns every retry once workflows run): exponential backoff capped at two
seconds, for a bounded time, then one error naming the service, where it was looked for (never the
password) and the last failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from infra.settings import TemporalSettings
from infra.temporal import connect

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_WITHIN = 60.0
_ATTEMPT_SECONDS = 5.0


class ServiceUnavailable(RuntimeError):
    """An external service did not accept connections within the bound."""


def describe_database(url: str) -> str:
    """``host:port/db`` of a PostgreSQL URL (or of its ``?host=`` socket), never the password."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or query.get("host", ["localhost"])[0]
    port = parts.port or query.get("port", [""])[0]
    return f"{host}{f':{port}' if port else ''}{parts.path or '/'}"


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info("waiting for %s (attempt %d): %s", what, state.attempt_number,
                 type(error).__name__ if error else "not ready")
    return before_sleep


async def _wait(what: str, attempt: Callable[[], Awaitable[T]], within: float) -> T:
    """Call ``attempt`` until it succeeds, for at most ``within`` seconds."""
    retrying = AsyncRetrying(
        stop=stop_after_delay(within),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        # Refused, unresolvable, timed out, "the database system is starting up": wait. A wrong
        # password or a missing role will not fix itself: fail at once.
        retry=retry_if_exception_type((OSError, RuntimeError, TimeoutError,
                                       asyncpg.CannotConnectNowError)),
        before_sleep=_log_retry(what),
    )
    try:
        result: T = await retrying(attempt)
    except RetryError as err:
        last = err.last_attempt.exception()
        raise ServiceUnavailable(
            f"{what} did not accept connections within {within:.0f}s "
            f"(last error: {type(last).__name__}: {last})") from last
    return result


async def wait_for_postgres(url: str, within: float = DEFAULT_WITHIN) -> None:
    """Wait until the PostgreSQL server of ``url`` accepts a connection and answers a query.

    It connects to the server's ``postgres`` database: the URL's own database may not exist
    yet (``ensure_database`` creates it).
    """
    server = urlsplit(url)._replace(path="/postgres").geturl()

    async def attempt() -> None:
        conn = await asyncpg.connect(server, timeout=_ATTEMPT_SECONDS)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    await _wait(f"PostgreSQL at {describe_database(url)}", attempt, within)


async def wait_for_temporal(settings: TemporalSettings, within: float = DEFAULT_WITHIN) -> None:
    """Wait until Temporal's frontend at ``settings.address`` connects and reports healthy."""

    async def attempt() -> None:
        async with asyncio.timeout(_ATTEMPT_SECONDS * 2):
            client = await connect(settings)
            healthy = await client.service_client.check_health(
                timeout=timedelta(seconds=_ATTEMPT_SECONDS))
        if not healthy:
            raise RuntimeError("the frontend reports it is not serving")

    await _wait(f"Temporal at {settings.address}", attempt, within)
