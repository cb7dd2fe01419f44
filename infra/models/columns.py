"""Column types and defaults shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime

TIMESTAMPTZ = DateTime(timezone=True)


def now() -> datetime:
    """The current time, timezone-aware (what the columns' ``DEFAULT now()`` gives)."""
    return datetime.now(UTC)


def minus_infinity() -> datetime:
    """The earliest time (``'-infinity'``, as asyncpg reads it): nothing is before it."""
    return datetime.min.replace(tzinfo=UTC)
