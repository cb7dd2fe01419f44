"""Contracts of SessionWorkflow: a conversation of one agent on one thread, turn by turn."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from workflows.contracts.agents import VERSION_FIELD, AgentOutcome, AgentTarget, ContextItem
from workflows.contracts.conversation import ConversationTurn
from workflows.contracts.events import StandardEvent

Policy = Literal["enqueue", "interrupt", "reject"]


class SessionSettings(BaseModel):
    """An agent's session settings (agents table, set through the agent admin route)."""

    enabled: bool = Field(default=True, description=(
        "False: the agent keeps no sessions, each event is a fresh run"))
    policy: Policy = Field(default="enqueue", description=(
        "A message arriving mid-turn: enqueue (next turn), interrupt (restart the think with"
        " both), reject (the sender is told the agent is busy)"))
    debounce_ms: int = Field(default=2000, description="A burst within this window is one turn")
    max_wait_ms: int = Field(default=10000, description="The longest a burst holds a turn back")
    idle_seconds: int = Field(default=604800, description="Idle time that closes the session")
    summary_every: int = Field(default=20, description=(
        "An episodic summary every this many turns of a long session (0: only at close)"))


class SessionSubmit(BaseModel):
    """Signal "message" (update "submit" before it): one event dispatched to the agent on this
    thread."""

    reply_to: str = Field(description="The EventWorkflow id told of the turn's outcome")
    event: StandardEvent
    event_id: int | None = None
    target: AgentTarget
    project_id: str | None = None
    gateway_queue: str | None = None
    context: list[ContextItem] = Field(default_factory=list)
    settings: SessionSettings = Field(default_factory=SessionSettings)
    outcome_to_row: bool = Field(default=False, description=(
        "The session writes the turn's outcome to the event's row itself; the EventWorkflow has"
        " ended (False: it waits for signal turn_finished, as events begun before this did)"))


class SubmitResult(BaseModel):
    """What became of a message: the update "submit" answered it at once; the signal path says
    only sent (accepted, turn 0), its outcome or refusal coming by signal "turn_finished"."""

    accepted: bool
    session_id: str
    turn: int = Field(description="The turn the message belongs to (0 if rejected)")
    reason: str | None = None
    direct: bool = Field(default=False, description=(
        "The agent keeps no sessions: the event workflow runs it directly, as without a thread"))


class SessionInput(BaseModel):
    """Input of SessionWorkflow; a continued run carries its state in ``carried``."""

    tenant_id: str
    agent_id: str
    thread: str
    carried: SessionState | None = None
    version: int = Field(default=0, description=VERSION_FIELD)


class SessionState(BaseModel):
    """What a continued-as-new run takes over from the previous one."""

    session_id: str
    turns: int = 0
    summary: str | None = None
    recent: list[ConversationTurn] = Field(default_factory=list)
    pending: list[SessionSubmit] = Field(default_factory=list)
    seen: list[str] = Field(default_factory=list, description="Recent submit keys (dedup)")
    paused: bool = False
    episodes_upto: int = Field(default=0, description=(
        "The last turn an episodic summary covers (written every ``summary_every`` turns)"))
    close: bool = Field(default=False, description="A close asked for as the run continued")
    settings: SessionSettings = Field(default_factory=SessionSettings)


class DispatchToSession(BaseModel):
    """Input of the submit_to_session activity (EventWorkflow's side of signal-with-start)."""

    submit: SessionSubmit
    thread: str
    task_queue: str = Field(description="Where the session runs (the platform queue)")


class TurnFinished(BaseModel):
    """Signal "turn_finished" to an EventWorkflow: its agent's outcome for the turn."""

    outcome: AgentOutcome
    session_id: str
    turn: int


class OutcomeRecord(BaseModel):
    """Input of the record_event_outcome local activity: a turn's outcome for one event's row
    (the EventWorkflow of a submit with ``outcome_to_row`` no longer waits for it)."""

    event_id: int
    outcome: AgentOutcome


class SessionRecord(BaseModel):
    """Input of the record_session local activity: the row's state now."""

    session_id: str
    tenant_id: str
    agent_id: str
    thread: str
    workflow_id: str
    status: Literal["running", "waiting", "paused", "closed", "failed"]
    turns: int
    summary: str | None = None


class TurnRecord(BaseModel):
    """Input of the record_turn local activity: one turn's row."""

    session_id: str
    turn: ConversationTurn


class SessionStep(BaseModel):
    """Input of the record_session_step local activity (sessions of SESSION_VERSION 2): the
    session's row with, in the same transaction, a turn's row and the outcomes of the turn's
    events, one write where a turn took two at its start and three at its end."""

    session: SessionRecord
    turn: ConversationTurn | None = None
    outcomes: list[OutcomeRecord] = Field(default_factory=list)


class EpisodeInput(BaseModel):
    """Input of the write_episode activity: a closed session's summary for the agent's memory."""

    tenant_id: str
    agent_id: str
    session_id: str
    text: str


SessionInput.model_rebuild()
