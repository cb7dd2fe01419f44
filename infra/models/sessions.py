"""Agent sessions, their turns and the agents' memory (infra/sessions/, infra/memory/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class AgentSession(SQLModel, table=True):
    """A row of ``sessions``."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, sa_type=Text)
    tenant_id: str = Field(sa_type=Text)
    agent_id: str = Field(sa_type=Text)
    thread: str = Field(sa_type=Text)
    workflow_id: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)
    turns: int = Field(default=0, sa_type=Integer)
    summary: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    closed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class SessionTurn(SQLModel, table=True):
    """A row of ``session_turns``."""

    __tablename__ = "session_turns"

    session_id: str = Field(primary_key=True, sa_type=Text)
    turn: int = Field(primary_key=True, sa_type=Integer)
    messages: Any = Field(sa_type=JSONB)
    answer: str | None = Field(default=None, sa_type=Text)
    tool_calls: list[Any] = Field(default_factory=list, sa_type=JSONB)
    status: str = Field(sa_type=Text)
    started_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    finished_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class AgentMemory(SQLModel, table=True):
    """A row of ``agent_memory``."""

    __tablename__ = "agent_memory"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    agent_id: str = Field(sa_type=Text)
    type: str = Field(sa_type=Text)
    key: str | None = Field(default=None, sa_type=Text)
    value: str = Field(sa_type=Text)
    tokens: int = Field(sa_type=Integer)
    session_id: str | None = Field(default=None, sa_type=Text)
    embedding: Any | None = Field(default=None, sa_type=Vector(384))
    written_by: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
