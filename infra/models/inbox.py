"""Webhook deliveries as received and the events made of them (infra/inbox/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class InboxRow(SQLModel, table=True):
    """A row of ``inbox``."""

    __tablename__ = "inbox"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    provider: str = Field(sa_type=Text)
    dedup_key: str = Field(sa_type=Text)
    event_name: str | None = Field(default=None, sa_type=Text)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    received_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    relayed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    replay_of: int | None = Field(default=None, sa_type=BigInteger)
    replay_key: str | None = Field(default=None, sa_type=Text)


class EventRow(SQLModel, table=True):
    """A row of ``events``."""

    __tablename__ = "events"

    inbox_id: int = Field(primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)
    kind: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    event: Any | None = Field(default=None, sa_type=JSONB)
    agent_ids: list[str] = Field(default_factory=list, sa_type=ARRAY(Text))
    outcomes: list[Any] = Field(default_factory=list, sa_type=JSONB)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    dispatched_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
