"""Contracts of human approval (a run waiting on a person) and of delegation (a child run)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from workflows.contracts.agents import AgentTarget, PendingApproval

__all__ = ["ApprovalClick", "ApprovalDecision", "ApprovalSettled", "DelegatedRun",
           "DelegationPlan", "DelegationResults", "PendingApproval", "SettleInput"]


class ApprovalDecision(BaseModel):
    """Signal ``approval_decided`` to the waiting run: the decision is stored, go read it."""

    approval_id: str
    approved: bool


class SettleInput(BaseModel):
    """Input of approval_settle: read (or, on timeout, expire) an approval and tell Slack."""

    tenant_id: str
    agent_id: str
    approval_id: str
    expired: bool = Field(description="The run's timer fired first: deny it unless decided")


class ApprovalSettled(BaseModel):
    """How an approval ended, as the waiting run needs it."""

    state: Literal["pending", "approved", "denied", "expired"]
    decided_by: str | None = None
    reason: str | None = None


class ApprovalClick(BaseModel):
    """What a click on an approval button came to (decide_click): whom to wake, if anyone."""

    workflow_id: str | None = Field(default=None, description="The run to signal; None: nobody")
    decision: ApprovalDecision | None = None
    note: str = Field(default="", description="Why nothing was decided (refused, not ours)")


class DelegationPlan(BaseModel):
    """The agents a ``delegate`` call hands its goal to, or why it may not."""

    goal: str = ""
    targets: list[AgentTarget] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Refused: the agent sees this instead")


class DelegatedRun(BaseModel):
    """One child run's outcome as the delegating agent sees it."""

    agent: str
    run_id: str
    status: str
    answer: str | None = None
    error: str | None = None


class DelegationResults(BaseModel):
    """The observation of a ``delegate`` call: every child run's outcome (JSON)."""

    results: list[DelegatedRun]
