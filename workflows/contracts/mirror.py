"""Contracts of the ClickUp <-> Slack mirror (MirrorWorkflow and its activities)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from workflows.contracts.agents import AlertInput
from workflows.contracts.events import StandardEvent


class MirrorPair(BaseModel):
    """A project's ClickUp list and Slack channel that mirror each other."""

    project_id: str
    list_id: str
    channel: str


class MirrorLookup(BaseModel):
    """Output of find_mirror: the pair an event belongs to, if it is mirrored."""

    pair: MirrorPair | None = None


class MirrorInput(BaseModel):
    """Input of MirrorWorkflow and plan_mirror: one event of a mirrored pair."""

    event: StandardEvent
    pair: MirrorPair


class MirrorWrite(BaseModel):
    """One write the mirror makes: a thread's root, a reply in it, or a task comment."""

    key: str = Field(description="Idempotency key: the gateway call and its sync event, once")
    tenant_id: str
    project_id: str
    action: Literal["open_thread", "slack_reply", "clickup_comment"]
    task_id: str
    list_id: str
    channel: str
    text: str


class MirrorPlan(BaseModel):
    """Output of plan_mirror: the writes to make (none: an echo or nothing to mirror)."""

    writes: list[MirrorWrite] = Field(default_factory=list)
    reason: str


class MirrorWriteResult(BaseModel):
    """Output of mirror_write: done, waiting for the project's sync limit, or failed."""

    status: Literal["done", "wait", "failed"]
    external_id: str | None = Field(default=None, description="The Slack ts or ClickUp comment")
    wait_seconds: float = Field(default=0, description="When the sync limit can allow it")
    reason: str | None = None
    alert: AlertInput | None = Field(
        default=None, description="The over-limit alert to raise (only if not raised yet)")


class MirrorResult(BaseModel):
    """Result of MirrorWorkflow."""

    reason: str
    written: list[str] = Field(default_factory=list, description="Ids of what was written")
    waited: int = Field(default=0, description="Times a write waited for the sync limit")
    failed: list[str] = Field(default_factory=list)
