"""Pipeline activities on the inbox: prepare a stored delivery for dispatch, record its outcome.

``prepare_event`` is the one read EventWorkflow makes before dispatching: it normalizes the
delivery and, unless the event is ignored, resolves the agents, reads the kill switch and gathers
the context, those three side by side. One local activity rather than one per read: each result
costs the worker a workflow activation (2-3 ms of Python here), and all of them sit on the path
to the agents' first think.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import ContextActivities
from activities.normalize import normalize, slack_forms
from infra.directory.resolver import Resolver
from infra.governance import kill_switch
from infra.inbox.store import load_delivery, record_event
from workflows.contracts import (
    ControlGate,
    DispatchPlan,
    EventKind,
    PreparedEvent,
    PrepareInput,
    Provider,
    RecordOutcomeInput,
    StandardEvent,
)
from workflows.errors import ErrorType


class EventActivities:
    """Activities that read and write the inbox and events tables."""

    def __init__(self, pool: asyncpg.Pool, resolver: Resolver, context: ContextActivities
                 ) -> None:
        self._pool = pool
        self._resolver = resolver
        self._context = context

    @activity.defn(name="prepare_event")
    async def prepare_event(self, inp: PrepareInput) -> PreparedEvent:
        """Normalize the stored delivery; plan its dispatch unless it is ignored."""
        event = await self._normalize(inp.inbox_id)
        if event.kind is EventKind.IGNORE:
            return PreparedEvent(event=event)
        if event.kind is EventKind.INTERACTION:  # a click is for what waits on it, not agents
            return PreparedEvent(event=event, plan=DispatchPlan.model_validate({
                "resolved": {"agents": [], "reason": slack_forms.NOT_FOR_AGENTS},
                "gate": {"held": False}, "context": {}}))
        resolved, (stopped, reason), context = await asyncio.gather(
            self._resolver.resolve(event),
            kill_switch.is_stopped(self._pool),
            self._context.gather(event, inp.context_tokens),
        )
        return PreparedEvent(event=event, plan=DispatchPlan(
            resolved=resolved, gate=ControlGate(held=stopped, reason=reason), context=context))

    async def _normalize(self, inbox_id: int) -> StandardEvent:
        """Turn the stored raw delivery into a StandardEvent."""
        row = await load_delivery(self._pool, inbox_id)
        if row is None:
            raise ApplicationError(
                f"inbox row {inbox_id} does not exist", type=ErrorType.UNKNOWN_DELIVERY,
                non_retryable=True,
            )
        try:
            body = row["body"]  # Slack forms (slash commands, buttons) are stored as sent too
            payload = (slack_forms.decode(body) if slack_forms.is_form(row["provider"], body)
                       else json.loads(body))
            return normalize(Provider(row["provider"]), row["tenant_id"], payload,
                             row["event_name"])
        except Exception as exc:  # a payload we cannot read will not improve on retry
            raise ApplicationError(
                f"cannot normalize {row['provider']} {row['event_name']}: {exc}",
                type=ErrorType.MALFORMED_DELIVERY, non_retryable=True,
            ) from exc

    @activity.defn(name="record_outcome")
    async def record_outcome(self, inp: RecordOutcomeInput) -> None:
        """Write the event row's status, kind, agents and outcomes."""
        await record_event(
            self._pool, inp.inbox_id, inp.status,
            kind=inp.kind.value if inp.kind else None,
            reason=inp.reason,
            event=inp.event.model_dump(mode="json") if inp.event else None,
            agent_ids=inp.agent_ids,
            outcomes=[o.model_dump(mode="json") for o in inp.outcomes],
        )
