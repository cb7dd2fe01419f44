"""Pydantic contracts for every workflow and activity.

Each workflow, activity, signal and update takes one of these models and returns one; they travel
through Temporal's pydantic data converter, so what is here is exactly what Event History shows.
Nothing in these models may ever hold a secret.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Provider(StrEnum):
    """A work tool that sends webhooks."""

    GITHUB = "github"
    SLACK = "slack"
    CLICKUP = "clickup"


class EventKind(StrEnum):
    """What an inbound event means to the swarm, whatever tool it came from."""

    NEW_WORK_ITEM = "new_work_item"
    COMMENT = "comment"
    STATUS_CHANGE = "status_change"
    ASSIGNMENT = "assignment"
    CODE_PUSH = "code_push"
    IGNORE = "ignore"


class EventStatus(StrEnum):
    """Where an inbound event is in its life."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    IGNORED = "ignored"
    FAILED = "failed"


class Actor(BaseModel):
    """Who caused an event, in the provider's own terms."""

    id: str | None = None
    name: str | None = None
    is_bot: bool = False


class ItemRef(BaseModel):
    """The work item or conversation an event belongs to.

    GitHub: ``container`` is the repository and ``item`` the issue or PR number. Slack:
    ``container`` is the channel and ``item`` the thread's root ``ts``. ClickUp: ``container`` is
    the list and ``item`` the task id.
    """

    container: str | None = None
    item: str | None = None


class ProjectHint(BaseModel):
    """An external identifier that a project mapping can turn into a project."""

    provider: Provider
    kind: str = Field(description="repo, channel or list")
    external_id: str


class StandardEvent(BaseModel):
    """One inbound event, normalized so that agents never see provider-specific shapes."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    provider: Provider
    source_event: str = Field(description="The provider's own event name, e.g. issues.opened")
    kind: EventKind
    ignore_reason: str | None = Field(default=None, description="Set exactly when kind is ignore")
    actor: Actor | None = None
    title: str | None = None
    text: str | None = None
    url: str | None = None
    ref: ItemRef | None = None
    mentions: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    project_hints: list[ProjectHint] = Field(default_factory=list)
    occurred_at: datetime | None = None
    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider-specific details worth keeping (labels, refs, states, ids)",
    )


class EventInput(BaseModel):
    """Input of EventWorkflow: a reference to the inbox row, never the raw body."""

    inbox_id: int
    tenant_id: str
    provider: Provider
    dedup_key: str


class NormalizeInput(BaseModel):
    """Input of the normalize activity."""

    inbox_id: int


class NormalizeOutput(BaseModel):
    """Output of the normalize activity."""

    event: StandardEvent


class ResolveInput(BaseModel):
    """Input of the resolve activity."""

    event: StandardEvent


class AgentTarget(BaseModel):
    """An agent chosen for an event, with what its run needs to know."""

    agent_id: str
    max_turns: int = 8


class ResolveOutput(BaseModel):
    """The agents an event is meant for (after dropping paused or offline ones)."""

    agents: list[AgentTarget]
    reason: str = Field(description="How the agents were chosen, for the event row and the UI")


class AgentOutcome(BaseModel):
    """What one agent run ended with."""

    agent_id: str
    run_id: str
    final: str | None = None
    error: str | None = None


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


class AgentRunInput(BaseModel):
    """Input of AgentRunWorkflow: one agent working on one event."""

    run_id: str
    agent_id: str
    event: StandardEvent
    max_turns: int = 8


class ThinkInput(BaseModel):
    """Input of an agent's think activity."""

    run_id: str
    agent_id: str
    turn: int
    event: StandardEvent
    observations: list[str] = Field(default_factory=list)


class ToolCall(BaseModel):
    """A tool the agent asks to run."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ThinkOutput(BaseModel):
    """An agent's decision: a final answer, or tool calls to run first."""

    final: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
