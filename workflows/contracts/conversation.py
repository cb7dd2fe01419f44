"""The conversation of a session as a think sees it (issue #14): earlier turns and a summary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SessionMessage(BaseModel):
    """One message of the conversation, as the turns and the API show it."""

    event_id: int | None = Field(default=None, description="The inbox row it came from")
    author: str | None = None
    text: str
    at: str = Field(description="ISO time it reached the session")


class ToolLog(BaseModel):
    """A tool the agent called in a turn, and what it answered."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str = ""
    is_error: bool = False


class ConversationTurn(BaseModel):
    """An earlier turn as the next think sees it."""

    turn: int
    messages: list[SessionMessage]
    answer: str | None = None
    tool_calls: list[ToolLog] = Field(default_factory=list)
    status: Literal["running", "done", "failed", "interrupted"] = "done"


class Conversation(BaseModel):
    """The conversation so far, for a think: a folded summary of the oldest turns, then turns."""

    session_id: str
    turn: int = Field(description="The turn being answered (1 for the first)")
    summary: str | None = None
    turns: list[ConversationTurn] = Field(default_factory=list)
