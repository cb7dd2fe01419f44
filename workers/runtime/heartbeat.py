"""Heartbeats while a step is in flight.

An LLM call or a tool may take minutes, but the agent's steps have a 10 s heartbeat timeout: a
worker that dies mid-step stops heartbeating, and Temporal retries the step elsewhere within
seconds instead of waiting for the whole start-to-close timeout. Heartbeats also carry
cancellation into the activity.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

DEFAULT_EVERY = 2.0


@contextlib.asynccontextmanager
async def heartbeating(every: float = DEFAULT_EVERY) -> AsyncIterator[None]:
    """Heartbeat at once and then every ``every`` seconds until the block ends."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())  # copies the context, so it knows its activity
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
