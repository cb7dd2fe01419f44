"""Tenants, their agents, aliases, projects and identity links (infra/directory/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, minus_infinity, now


class Tenant(SQLModel, table=True):
    """A row of ``tenants``."""

    __tablename__ = "tenants"

    id: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(sa_type=Text)
    default_agents: list[str] = Field(default_factory=list, sa_type=ARRAY(Text))
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    admin_channel: str | None = Field(default=None, sa_type=Text)
    slack_commands: list[str] = Field(default_factory=lambda: ["/switchboard"], sa_type=ARRAY(Text))
    retention: dict[str, int] = Field(default_factory=dict, sa_type=JSONB)  # days by kind


class Agent(SQLModel, table=True):
    """A row of ``agents``."""

    __tablename__ = "agents"

    id: str = Field(primary_key=True, sa_type=Text)
    tenant_id: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(sa_type=Text)
    role: str = Field(default="", sa_type=Text)
    status: str = Field(default="active", sa_type=Text)
    max_turns: int = Field(default=8, sa_type=Integer)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    avatar_url: str | None = Field(default=None, sa_type=Text)
    owner: str | None = Field(default=None, sa_type=Text)
    queue_expiry_seconds: int = Field(default=86400, sa_type=Integer)
    client_secret_hash: str | None = Field(default=None, sa_type=Text)
    tokens_valid_after: datetime = Field(default_factory=minus_infinity, sa_type=TIMESTAMPTZ)
    sessions: bool = Field(default=True, sa_type=Boolean)
    session_policy: str = Field(default="enqueue", sa_type=Text)
    session_debounce_ms: int = Field(default=2000, sa_type=Integer)
    session_max_wait_ms: int = Field(default=10000, sa_type=Integer)
    session_idle_seconds: int = Field(default=604800, sa_type=Integer)
    session_summary_every: int = Field(default=20, sa_type=Integer)


class Alias(SQLModel, table=True):
    """A row of ``aliases``."""

    __tablename__ = "aliases"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(primary_key=True, sa_type=Text)
    members: list[str] = Field(sa_type=ARRAY(Text))


class Project(SQLModel, table=True):
    """A row of ``projects``."""

    __tablename__ = "projects"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    id: str = Field(primary_key=True, sa_type=Text)
    name: str = Field(sa_type=Text)
    default_agents: list[str] = Field(default_factory=list, sa_type=ARRAY(Text))


class ProjectMapping(SQLModel, table=True):
    """A row of ``project_mappings``."""

    __tablename__ = "project_mappings"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    project_id: str = Field(sa_type=Text)
    provider: str = Field(primary_key=True, sa_type=Text)
    external_id: str = Field(primary_key=True, sa_type=Text)


class IdentityLink(SQLModel, table=True):
    """A row of ``identity_links``."""

    __tablename__ = "identity_links"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    provider: str = Field(primary_key=True, sa_type=Text)
    external_id: str = Field(primary_key=True, sa_type=Text)
    agent_id: str = Field(sa_type=Text)
