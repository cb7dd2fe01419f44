"""The ClickUp <-> Slack mirror: pairs, threads and the id map against echoes (infra/mirror/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, Text
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class MirrorMessage(SQLModel, table=True):
    """A row of ``mirror_messages``."""

    __tablename__ = "mirror_messages"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    provider: str = Field(sa_type=Text)
    thread: str = Field(sa_type=Text)
    external_id: str | None = Field(default=None, sa_type=Text)
    write_key: str | None = Field(default=None, sa_type=Text)
    text_hash: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class MirrorPair(SQLModel, table=True):
    """A row of ``mirror_pairs``."""

    __tablename__ = "mirror_pairs"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    project_id: str = Field(sa_type=Text)
    list_id: str = Field(primary_key=True, sa_type=Text)
    channel: str = Field(sa_type=Text)


class MirrorThread(SQLModel, table=True):
    """A row of ``mirror_threads``."""

    __tablename__ = "mirror_threads"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    task_id: str = Field(primary_key=True, sa_type=Text)
    list_id: str = Field(sa_type=Text)
    channel: str = Field(sa_type=Text)
    thread_ts: str | None = Field(default=None, sa_type=Text)
    key: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
