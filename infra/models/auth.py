"""Token signing keys and revocations, users, their sessions and roles (infra/auth/, users/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import LargeBinary, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class SigningKey(SQLModel, table=True):
    """A row of ``signing_keys``."""

    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, sa_type=Text)
    private_enc: bytes = Field(sa_type=LargeBinary)
    public_jwk: Any = Field(sa_type=JSONB)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class RevokedToken(SQLModel, table=True):
    """A row of ``revoked_tokens``."""

    __tablename__ = "revoked_tokens"

    jti: str = Field(primary_key=True, sa_type=Text)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)


class User(SQLModel, table=True):
    """A row of ``users``."""

    __tablename__ = "users"

    id: UUID | None = Field(default=None, primary_key=True, sa_type=Uuid)
    email: str = Field(sa_type=Text)
    password_hash: str | None = Field(default=None, sa_type=Text)
    invitation_hash: str | None = Field(default=None, sa_type=Text)
    invitation_expires: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class UserSession(SQLModel, table=True):
    """A row of ``user_sessions``."""

    __tablename__ = "user_sessions"

    id: UUID = Field(primary_key=True, sa_type=Uuid)
    user_id: UUID = Field(sa_type=Uuid)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    revoked_why: str | None = Field(default=None, sa_type=Text)


class RefreshToken(SQLModel, table=True):
    """A row of ``refresh_tokens``."""

    __tablename__ = "refresh_tokens"

    token_hash: str = Field(primary_key=True, sa_type=Text)
    session_id: UUID = Field(sa_type=Uuid)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    used_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)


class TenantMember(SQLModel, table=True):
    """A row of ``tenant_members``."""

    __tablename__ = "tenant_members"

    tenant_id: str = Field(primary_key=True, sa_type=Text)
    user_id: UUID = Field(primary_key=True, sa_type=Uuid)
    role: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
