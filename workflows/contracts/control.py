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
