"""Governance: the kill switch, breaker and quota windows, limits, alerts, usage, activity log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class ControlState(SQLModel, table=True):
    """A row of ``control_state``."""

    __tablename__ = "control_state"

    id: bool = Field(default=True, primary_key=True, sa_type=Boolean)
    stopped: bool = Field(default=False, sa_type=Boolean)
    reason: str | None = Field(default=None, sa_type=Text)
    changed_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    version: int = Field(default=0, sa_type=BigInteger)


class BreakerLogRow(SQLModel, table=True):
    """A row of ``breaker_log``: an append-only log without a primary key.

    The ORM needs an identity for a row, so the mapper (not the table) uses the columns that
    name one entry; the breaker itself writes and counts these rows with asyncpg under its locks.
    """

    __tablename__ = "breaker_log"
    __mapper_args__ = {"primary_key": ["tenant_id", "kind", "subject", "at"]}

    tenant_id: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    subject: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=TIMESTAMPTZ)
    message_hash: bytes | None = Field(default=None, sa_type=LargeBinary)
    idempotency_key: str | None = Field(default=None, sa_type=Text)
    intent: str | None = Field(default=None, sa_type=Text)


class AlertRow(SQLModel, table=True):
    """A row of ``alerts``."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    subject: str = Field(sa_type=Text)
    detail: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class UsageRow(SQLModel, table=True):
    """A row of ``usage``."""

    __tablename__ = "usage"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    agent_id: str = Field(sa_type=Text)
    run_id: str = Field(sa_type=Text)
    turn: int = Field(sa_type=Integer)
    model: str = Field(sa_type=Text)
    input_tokens: int = Field(default=0, sa_type=Integer)
    output_tokens: int = Field(default=0, sa_type=Integer)
    tool_calls: int = Field(default=0, sa_type=Integer)
    duration_ms: int = Field(default=0, sa_type=Integer)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class TenantLimits(SQLModel, table=True):
    """A row of ``tenant_limits``."""

    __tablename__ = "tenant_limits"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    messages_per_minute: int = Field(sa_type=Integer)
    sync_events_per_hour: int = Field(sa_type=Integer)
    duplicate_window_seconds: int = Field(sa_type=Integer)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    intents: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)


class QuotaWindow(SQLModel, table=True):
    """A row of ``quota_windows``."""

    __tablename__ = "quota_windows"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    window_start: datetime = Field(primary_key=True, sa_type=TIMESTAMPTZ)
    requests: int = Field(sa_type=Integer)


class TenantQuota(SQLModel, table=True):
    """A row of ``tenant_quotas``."""

    __tablename__ = "tenant_quotas"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    plan: str = Field(sa_type=Text)
    requests_per_minute: int | None = Field(default=None, sa_type=Integer)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class ActivityLogRow(SQLModel, table=True):
    """A row of ``activity_log``."""

    __tablename__ = "activity_log"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    tenant_id: str | None = Field(default=None, sa_type=Text)
    actor: str = Field(sa_type=Text)
    role: str | None = Field(default=None, sa_type=Text)
    agent_id: str | None = Field(default=None, sa_type=Text)
    action: str = Field(sa_type=Text)
    target: str | None = Field(default=None, sa_type=Text)
    outcome: str = Field(sa_type=Text)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
