"""Contracts of the kill switch (the switchboard-control workflow) and the dispatch gate."""

from __future__ import annotations

from pydantic import BaseModel


class StopAll(BaseModel):
    """The kill switch's stop signal."""

    reason: str = "stopped by an admin"


class ControlState(BaseModel):
    """What the kill switch says right now (the control workflow's query)."""

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
