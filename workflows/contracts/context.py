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
    provider: str = Field(default="slack", description=(
        "slack, github or clickup; channel and thread_ts are then the repo and issue or pull"
        " request number, or the list and task id"))


class ThreadsDue(BaseModel):
    """The threads a summarization pass found."""

    threads: list[ThreadRef] = Field(default_factory=list)


class SummaryStored(BaseModel):
    """The summary document written for a thread."""

    document_id: int
    messages: int


class ReadmeRequest(BaseModel):
    """Fetch a mapped repository's README (through the gateway's GitHub credential) and store it
    as its project's README."""

    tenant_id: str
    repo: str = Field(description="owner/name")
    project_id: str | None = Field(default=None,
                                   description="None: the project the repo is mapped to")


class ReadmeStored(BaseModel):
    """What a README fetch stored (never the credential, nor the text)."""

    document_id: int | None = None
    project_id: str | None = None
    note: str | None = Field(default=None, description="Why nothing was stored, if it was not")
