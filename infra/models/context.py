"""The context engine's documents, chunks (pgvector) and thread messages (infra/context/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class ContextDocument(SQLModel, table=True):
    """A row of ``context_documents``."""

    __tablename__ = "context_documents"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    project_id: str | None = Field(default=None, sa_type=Text)
    source: str = Field(sa_type=Text)
    source_key: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    body: str = Field(sa_type=Text)
    body_sha256: bytes = Field(sa_type=LargeBinary)
    embedding_model: str = Field(sa_type=Text)
    tokens: int = Field(default=0, sa_type=Integer)
    message_count: int = Field(default=0, sa_type=Integer)
    summarized_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    summarized_message_count: int = Field(default=0, sa_type=Integer)
    summary_of: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class ContextChunk(SQLModel, table=True):
    """A row of ``context_chunks``."""

    __tablename__ = "context_chunks"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    document_id: int = Field(sa_type=BigInteger)
    tenant_id: str = Field(sa_type=Text)
    project_id: str | None = Field(default=None, sa_type=Text)
    source: str = Field(sa_type=Text)
    ordinal: int = Field(sa_type=Integer)
    text: str = Field(sa_type=Text)
    tokens: int = Field(sa_type=Integer)
    embedding: Any = Field(sa_type=Vector(384))
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class ThreadMessage(SQLModel, table=True):
    """A row of ``thread_messages``."""

    __tablename__ = "thread_messages"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    container: str = Field(primary_key=True, sa_type=Text)
    message_id: str = Field(primary_key=True, sa_type=Text)
    item: str = Field(sa_type=Text)
    project_id: str | None = Field(default=None, sa_type=Text)
    user_id: str = Field(default="", sa_type=Text)
    text: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    received_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    provider: str = Field(primary_key=True, sa_type=Text)
    author_kind: str = Field(default="human", sa_type=Text)
