"""Contracts of the kill switch (the switchboard-control workflow) and the dispatch gate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class StopAll(BaseModel):
    """The kill switch's stop signal."""

    reason: str = "stopped by an admin"


class ControlChange(BaseModel):
    """A change asked of the kill switch (the control workflow's update ``change``)."""

    action: Literal["stop_all", "resume"]
    reason: str = "stopped by an admin"


class ControlState(BaseModel):
    """The kill switch as applied (the control workflow's query and update result, its
    ``applied`` signal and apply_control's result).

    ``changes`` is the applied state's version: one more on every change, from the database
    (runs of the control workflow begun before versions counted their own changes there).
    """

    stopped: bool = False
    reason: str | None = None
    changes: int = 0


class ControlGate(BaseModel):
    """Whether new work may go to agents now."""

    held: bool
    reason: str | None = None


class PresenceInput(BaseModel):
    """Input of an agent's presence workflow."""

    tenant_id: str
    agent_id: str
    interval_seconds: float = 30.0
    missed_limit: int = 3
    online: bool = True


class PresenceChange(BaseModel):
    """An agent going offline (out of routing) or coming back."""

    tenant_id: str
    agent_id: str
    online: bool
