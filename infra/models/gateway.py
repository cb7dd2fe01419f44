"""The tool gateway: grants, executions, audit, sealed credentials (infra/gateway/, vault/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class Grant(SQLModel, table=True):
    """A row of ``grants``."""

    __tablename__ = "grants"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    agent_id: str = Field(primary_key=True, sa_type=Text)
    intent: str = Field(primary_key=True, sa_type=Text)
    resource_pattern: str = Field(primary_key=True, sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    approval: Any | None = Field(default=None, sa_type=JSONB)


class GatewayCall(SQLModel, table=True):
    """A row of ``gateway_calls``."""

    __tablename__ = "gateway_calls"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    agent_id: str = Field(primary_key=True, sa_type=Text)
    idempotency_key: str = Field(primary_key=True, sa_type=Text)
    intent: str = Field(sa_type=Text)
    resource: str = Field(sa_type=Text)
    state: str = Field(sa_type=Text)
    result: Any | None = Field(default=None, sa_type=JSONB)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    finished_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class AuditRow(SQLModel, table=True):
    """A row of ``audit``."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    agent_id: str = Field(sa_type=Text)
    intent: str = Field(sa_type=Text)
    resource: str | None = Field(default=None, sa_type=Text)
    decision: str = Field(sa_type=Text)
    outcome: str = Field(sa_type=Text)
    detail: str | None = Field(default=None, sa_type=Text)
    duration_ms: int = Field(default=0, sa_type=Integer)
    idempotency_key: str | None = Field(default=None, sa_type=Text)
    source: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class SecretRow(SQLModel, table=True):
    """A row of ``secrets``."""

    __tablename__ = "secrets"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(primary_key=True, sa_type=Text)
    value_enc: bytes = Field(sa_type=LargeBinary)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class Integration(SQLModel, table=True):
    """A row of ``integrations``."""

    __tablename__ = "integrations"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    provider: str = Field(primary_key=True, sa_type=Text)
    secret_enc: bytes = Field(sa_type=LargeBinary)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
