"""Contracts of EventWorkflow and its pipeline activities."""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows.contracts.agents import VERSION_FIELD, AgentOutcome, AgentTarget, ContextItem
from workflows.contracts.context import ContextBundle
from workflows.contracts.control import ControlGate
from workflows.contracts.events import EventKind, EventStatus, Provider, StandardEvent


class EventInput(BaseModel):
    """Input of EventWorkflow: a reference to the inbox row, never the raw body."""

    inbox_id: int
    tenant_id: str
    provider: Provider
    dedup_key: str
    version: int = Field(default=0, description=VERSION_FIELD)


class PrepareInput(BaseModel):
    """Input of the prepare_event activity."""

    inbox_id: int
    context_tokens: int = Field(description="Context to retrieve: the largest agent budget")
    enrich: bool = Field(default=False, description=(
        "Leave an event that needs enrichment without a plan (plan_event plans it after)"))


class ResolveOutput(BaseModel):
    """The agents an event is meant for (after dropping paused or offline ones)."""

    agents: list[AgentTarget]
    project_id: str | None = Field(default=None, description="The event's project, if mapped")
    gateway_queue: str | None = Field(
        default=None, description="Where intents run: the gateway's queue, set by the resolver")
    reason: str = Field(description="How the agents were chosen, for the event row and the UI")


class DispatchPlan(BaseModel):
    """Everything dispatch needs, read side by side: the agents, the kill switch, the context."""

    resolved: ResolveOutput
    gate: ControlGate
    context: ContextBundle


class PreparedEvent(BaseModel):
    """Output of the prepare_event activity: the normalized event and, unless it is ignored,
    its dispatch plan."""

    event: StandardEvent
    plan: DispatchPlan | None = None
    enrich_on: str | None = Field(default=None, description=(
        "The gateway queue to enrich the event on, when it needs enrichment (then no plan)"))


class EnrichedEvent(BaseModel):
    """Output of the enrich_event activity: the event with what its provider said about it."""

    event: StandardEvent
    context: ContextItem | None = Field(
        default=None, description="The task, thread or issue, placed first in the context")
    note: str = Field(description="What was fetched, or why not (also facts['enrichment'])")


class PlanInput(BaseModel):
    """Input of the plan_event activity: an (enriched) event to resolve and gather for."""

    event: StandardEvent
    context_tokens: int
    first: ContextItem | None = Field(
        default=None, description="Goes first in the context, replacing an item of its source")


class RecordOutcomeInput(BaseModel):
    """Input of the record_outcome activity: the event row's new state."""

    inbox_id: int
    status: EventStatus
    kind: EventKind | None = None
    reason: str | None = None
    event: StandardEvent | None = None
    agent_ids: list[str] = Field(default_factory=list)
    outcomes: list[AgentOutcome] = Field(default_factory=list)


class EventResult(BaseModel):
    """Result of EventWorkflow."""

    status: EventStatus
    kind: EventKind | None = None
    reason: str | None = None
    outcomes: list[AgentOutcome] = Field(default_factory=list)
