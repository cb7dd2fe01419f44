"""The mirror's activities: find an event's mirrored pair, plan its writes, make one write."""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.gateway.service import Gateway
from infra.mirror import store
from infra.mirror.plan import MirrorPlanner
from infra.mirror.writer import MirrorRetry, MirrorWriter
from workflows.contracts import StandardEvent
from workflows.contracts.mirror import (
    MirrorInput,
    MirrorLookup,
    MirrorPlan,
    MirrorWrite,
    MirrorWriteResult,
)
from workflows.errors import ErrorType

HOLD_POLL_SECONDS = 0.25


class MirrorActivities:
    """Thin doors into infra/mirror (the writer needs the platform's gateway)."""

    def __init__(self, pool: asyncpg.Pool, gateway: Gateway | None) -> None:
        self._pool = pool
        self._planner = MirrorPlanner(pool)
        self._writer = MirrorWriter(pool, gateway) if gateway is not None else None

    @activity.defn(name="find_mirror")
    async def find_mirror(self, event: StandardEvent) -> MirrorLookup:
        """The mirrored pair the event's list or channel belongs to, if any (one indexed read)."""
        ref = event.ref
        if ref is None or not ref.container:
            return MirrorLookup()
        return MirrorLookup(pair=await store.find_pair(self._pool, event.tenant_id,
                                                       event.provider.value, ref.container))

    @activity.defn(name="plan_mirror")
    async def plan_mirror(self, inp: MirrorInput) -> MirrorPlan:
        """The writes the event becomes on the other side (none for an echo)."""
        workflow_id = activity.info().workflow_id or "mirror/"
        return await self._planner.plan(inp, workflow_id.removeprefix("mirror/"))

    @activity.defn(name="mirror_write")
    async def mirror_write(self, write: MirrorWrite) -> MirrorWriteResult:
        """Make one write once; ``wait`` when the project's sync limit is reached.

        While the kill switch holds the gateway, the write waits here, heartbeating; a remote's
        passing failure is retried by Temporal after the delay the remote asked for.
        """
        if self._writer is None:
            raise ApplicationError("this worker has no gateway: the mirror cannot write",
                                   non_retryable=True)
        while True:
            try:
                return await self._writer.write(write)
            except MirrorRetry as err:
                if not err.held:
                    raise ApplicationError(str(err), type=ErrorType.GATEWAY_RETRYABLE,
                                           next_retry_delay=err.retry_after) from None
                activity.heartbeat(f"{write.action} held by the kill switch")
                await asyncio.sleep(HOLD_POLL_SECONDS)


