"""Contracts of TriggeredRunWorkflow: an agent's run on a goal, started by hand or a schedule."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from workflows.contracts.events import StandardEvent

Trigger = Literal["webhook", "manual", "schedule", "delegation"]


class TriggeredRunInput(BaseModel):
    """Input of TriggeredRunWorkflow: which agent works on which goal, and who asked.

    The goal arrives as a ``StandardEvent`` (built by infra/runs/goal.py: the goal as its title
    and text, ``facts["trigger"]``), so the agent's think sees it the way it sees any work.
    """

    agent_id: str
    trigger: Literal["manual", "schedule"]
    event: StandardEvent
    schedule_id: str | None = Field(default=None, description="The schedule that fired it")
