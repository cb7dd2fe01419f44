"""Contracts of the context engine's activities and the summarization workflows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows.contracts.agents import ContextItem


class ContextBundle(BaseModel):
    """The event's context, most relevant first."""

    items: list[ContextItem] = Field(default_factory=list)


class ThreadRef(BaseModel):
    """A thread due for a summary."""

    document_id: int
    tenant_id: str
    project_id: str | None = None
    channel: str
    thread_ts: str
    title: str
    url: str | None = None
    message_count: int
    summarized_message_count: int


class ThreadsDue(BaseModel):
    """The threads a summarization pass found."""

    threads: list[ThreadRef] = Field(default_factory=list)


class SummaryStored(BaseModel):
    """The summary document written for a thread."""

    document_id: int
    messages: int
