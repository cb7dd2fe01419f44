"""Pipeline activities on the inbox: prepare a stored delivery for dispatch, record its outcome.

``prepare_event`` is the one read EventWorkflow makes before dispatching: it normalizes the
delivery and, unless the event is ignored, resolves the agents, reads the kill switch and gathers
the context, those three side by side (each chosen agent's memory, infra/memory, is recalled as
soon as the agents are known, while the context is still gathered). One local activity rather
than one per read: each result costs the worker a workflow activation (2-3 ms of Python here),
and all of them sit on the path to the agents' first think.

An event that needs enrichment (the ClickUp task, the Slack thread, the GitHub issue it is about,
see infra/enrichment) is planned only after it: ``prepare_event`` returns it unplanned with the
gateway queue to enrich it on, and ``plan_event`` plans the enriched event, so mentions in a
task's description route it and the fetched text goes first in its context.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import ContextActivities
from activities.normalize import normalize, slack_forms
from infra.context.embedders import SharedEmbeddings
from infra.directory.resolver import Resolver
from infra.enrichment import target_of
from infra.governance import kill_switch
from infra.inbox.store import load_delivery, record_event
from infra.memory import store as memory
from workflows.contracts import (
    AgentTarget,
    ContextItem,
    ControlGate,
    DispatchPlan,
    EventKind,
    PlanInput,
    PreparedEvent,
    PrepareInput,
    Provider,
    RecordOutcomeInput,
    ResolveOutput,
    StandardEvent,
)
from workflows.errors import ErrorType

MEMORY_SHARE = 4  # an agent's memory gets at most 1/4 of its context budget


class EventActivities:
    """Activities that read and write the inbox and events tables."""

    def __init__(self, pool: asyncpg.Pool, resolver: Resolver, context: ContextActivities,
                 gateway_queue: str | None = None) -> None:
        self._pool = pool
        self._resolver = resolver
        self._context = context
        self._gateway_queue = gateway_queue  # where enrich_event runs; None: never enrich

    @activity.defn(name="prepare_event")
    async def prepare_event(self, inp: PrepareInput) -> PreparedEvent:
        """Normalize the stored delivery; plan its dispatch unless it is ignored or (when
        ``inp.enrich``) needs enrichment first."""
        event = await self._normalize(inp.inbox_id)
        if event.kind is EventKind.IGNORE:
            return PreparedEvent(event=event)
        if event.kind is EventKind.INTERACTION:  # a click is for what waits on it, not agents
            return PreparedEvent(event=event, plan=DispatchPlan.model_validate({
                "resolved": {"agents": [], "reason": slack_forms.NOT_FOR_AGENTS},
                "gate": {"held": False}, "context": {}}))
        if inp.enrich and self._gateway_queue and target_of(event) is not None:
            return PreparedEvent(event=event, enrich_on=self._gateway_queue)
        return PreparedEvent(event=event, plan=await self._plan(event, inp.context_tokens))

    @activity.defn(name="plan_event")
    async def plan_event(self, inp: PlanInput) -> DispatchPlan:
        """Plan an enriched event's dispatch; ``inp.first`` leads its context."""
        plan = await self._plan(inp.event, inp.context_tokens)
        if inp.first is not None:
            plan.context.items = lead_with(inp.first, plan.context.items)
        return plan

    async def _plan(self, event: StandardEvent, context_tokens: int) -> DispatchPlan:
        """Resolve the agents, read the kill switch and gather the context, side by side. The
        context search and each agent's memory recall embed the event's text once between them
        (an agent whose sessions left episodes recalls them by that vector)."""
        shared = SharedEmbeddings(self._context.embed)
        resolved, (stopped, reason), context = await asyncio.gather(
            self._resolve(event, shared),
            kill_switch.is_stopped(self._pool),
            self._context.gather(event, context_tokens, shared),
        )
        return DispatchPlan(resolved=resolved, gate=ControlGate(held=stopped, reason=reason),
                            context=context)

    async def _resolve(self, event: StandardEvent, shared: SharedEmbeddings) -> ResolveOutput:
        """The agents, each with its memory: recalled while the context is still gathered (an
        agent with episodic memory needs the event's text embedded, 43 ms p50 on the loaded
        test machine: the one embedding ``shared`` with the context search)."""
        resolved = await self._resolver.resolve(event)
        resolved.agents = await self._with_memory(event, resolved.agents, shared)
        return resolved

    async def _with_memory(self, event: StandardEvent, agents: list[AgentTarget],
                           shared: SharedEmbeddings) -> list[AgentTarget]:
        """Each agent with what it remembers of this tenant (infra/memory), within a quarter
        of its context budget; what memory takes is taken out of the context's share."""
        text = "\n".join(t for t in (event.title, event.text) if t)
        recalled = await asyncio.gather(*(
            memory.recall(self._pool, shared, event.tenant_id, a.agent_id, text,
                          a.context_token_budget // MEMORY_SHARE) for a in agents))
        return [a.model_copy(update={
            "memory": items,
            "context_token_budget": a.context_token_budget - sum(i.tokens for i in items)})
            if items else a for a, items in zip(agents, recalled, strict=True)]

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


def lead_with(first: ContextItem, items: list[ContextItem]) -> list[ContextItem]:
    """``first``, then ``items`` without any of the same source (the thread the context engine
    remembered is the same thread, fetched just now: the fetched one wins)."""
    return [first, *(i for i in items if i.source != first.source)]
