"""The migration runner's own bookkeeping (infra/database.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from infra.models.columns import TIMESTAMPTZ, now


class SchemaMigration(SQLModel, table=True):
    """A row of ``schema_migrations``."""

    __tablename__ = "schema_migrations"

    version: str = Field(primary_key=True, sa_type=Text)
    applied_at: datetime = Field(default_factory=now, sa_type=TIMESTAMPTZ)
