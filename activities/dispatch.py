"""The read EventWorkflow makes before it dispatches: the agents, the kill switch, the context.

The three are independent database reads. One local activity runs them side by side, so the
workflow wakes once with all three: each local activity result costs the worker a workflow
activation of its own (about 2 ms), and these sit on the path to the agents' first think.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity

from activities.context import ContextActivities
from activities.identity import Resolver
from infra.store import control
from workflows.contracts import ControlGate, DispatchInput, DispatchPlan


class DispatchActivities:
    """Plans an event's dispatch."""

    def __init__(self, pool: asyncpg.Pool, resolver: Resolver, context: ContextActivities
                 ) -> None:
        self._pool = pool
        self._resolver = resolver
        self._context = context

    @activity.defn(name="plan_dispatch")
    async def plan_dispatch(self, inp: DispatchInput) -> DispatchPlan:
        """Resolve the agents, read the kill switch and gather the context, concurrently."""
        resolved, (stopped, reason), context = await asyncio.gather(
            self._resolver.resolve(inp.event),
            control.is_stopped(self._pool),
            self._context.gather(inp.event, inp.context_tokens),
        )
        return DispatchPlan(resolved=resolved, gate=ControlGate(held=stopped, reason=reason),
                            context=context)
