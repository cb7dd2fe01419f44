"""The provider-independent event: what every inbound webhook becomes."""

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
    UPDATE = "update"  # a work item edited, labeled, milestoned, locked, pinned, moved...
    REVIEW = "review"  # a pull request review submitted or dismissed, in any state
    REVIEW_REQUEST = "review_request"  # someone asked (or stopped asking) for a review
    CI_FAILURE = "ci_failure"  # a check, workflow, job, status or deployment failed
    CI_RESULT = "ci_result"  # a CI outcome that is not a failure (success, neutral, skipped...)
    RELEASE = "release"
    REF_CHANGE = "ref_change"  # a branch or tag created or deleted
    INTERACTION = "interaction"  # a click on a message's button or menu (Slack block_actions)
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
