"""Human approvals of gateway calls (infra/approvals/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class Approval(SQLModel, table=True):
    """A row of ``approvals``."""

    __tablename__ = "approvals"

    id: str = Field(primary_key=True, sa_type=Text)
    tenant_id: str = Field(sa_type=Text)
    agent_id: str = Field(sa_type=Text)
    request_key: str = Field(sa_type=Text)
    workflow_id: str = Field(sa_type=Text)
    intent: str = Field(sa_type=Text)
    resource: str = Field(sa_type=Text)
    arguments: Any = Field(sa_type=JSONB)
    args_hash: str = Field(sa_type=Text)
    approvers: list[str] = Field(default_factory=list, sa_type=ARRAY(Text))
    approver_group: str | None = Field(default=None, sa_type=Text)
    channel: str | None = Field(default=None, sa_type=Text)
    message_ts: str | None = Field(default=None, sa_type=Text)
    state: str = Field(default="pending", sa_type=Text)
    decided_by: str | None = Field(default=None, sa_type=Text)
    decided_via: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    timeout_seconds: int = Field(sa_type=Integer)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    posted_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    decided_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    applied_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
