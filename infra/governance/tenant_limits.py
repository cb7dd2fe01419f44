"""Each tenant's circuit-breaker limits: a row in ``tenant_limits``, or the defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg


class UnknownTenant(LookupError):
    """Limits were set for a tenant that does not exist."""


@dataclass(frozen=True)
class Limits:
    """How much a tenant's agents and projects may do.

    ``messages_per_minute`` is each agent's rate of writes of every kind (messages, comments,
    issues, tasks, pushes); ``intents`` may hold a lower rate for some of them by intent name
    (a higher one changes nothing: every write also counts against the general rate).
    """

    messages_per_minute: int = 10
    sync_events_per_hour: int = 100
    duplicate_window_seconds: int = 10
    intents: Mapping[str, int] = field(default_factory=dict)

    def per_minute(self, intent: str | None) -> int:
        """How many writes of ``intent`` an agent may make a minute."""
        if intent is None:
            return self.messages_per_minute
        return self.intents.get(intent, self.messages_per_minute)


DEFAULTS = Limits()

# Inclusive bounds, the same as the table's CHECK constraints.
BOUNDS = {
    "messages_per_minute": (1, 10_000),
    "sync_events_per_hour": (1, 1_000_000),
    "duplicate_window_seconds": (1, 3600),
}
INTENT_BOUNDS = BOUNDS["messages_per_minute"]
_SCALARS = ("messages_per_minute", "sync_events_per_hour", "duplicate_window_seconds")
_COLUMNS = ", ".join((*_SCALARS, "intents"))


def from_row(row: asyncpg.Record | None) -> Limits:
    """Limits from a row holding the limit columns (NULLs, or no row, mean the defaults)."""
    if row is None:
        return DEFAULTS
    scalars = {name: row[name] if row[name] is not None else getattr(DEFAULTS, name)
               for name in _SCALARS}
    return Limits(**scalars, intents=dict(row["intents"] or {}))


async def get_limits(conn: asyncpg.Pool | asyncpg.Connection, tenant_id: str) -> Limits:
    """The tenant's limits (the defaults when it has set none)."""
    return from_row(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM tenant_limits WHERE tenant_id = $1", tenant_id))


async def set_limits(pool: asyncpg.Pool, tenant_id: str, *, messages_per_minute: int | None = None,
                     sync_events_per_hour: int | None = None,
                     duplicate_window_seconds: int | None = None,
                     intents: Mapping[str, int] | None = None) -> Limits:
    """Change some of a tenant's limits (None keeps the current value); return all of them.

    ``intents`` replaces the per-intent limits as a whole (``{}`` removes them).
    """
    given = {"messages_per_minute": messages_per_minute,
             "sync_events_per_hour": sync_events_per_hour,
             "duplicate_window_seconds": duplicate_window_seconds}
    for name, value in given.items():
        low, high = BOUNDS[name]
        if value is not None and not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    low, high = INTENT_BOUNDS
    for name, value in (intents or {}).items():
        if not low <= value <= high:
            raise ValueError(f"the limit of {name} must be between {low} and {high}, not {value}")
    try:
        row = await pool.fetchrow(
            "INSERT INTO tenant_limits (tenant_id, messages_per_minute, sync_events_per_hour,"
            " duplicate_window_seconds, intents) VALUES ($1, COALESCE($2::int, $5),"
            " COALESCE($3::int, $6), COALESCE($4::int, $7), COALESCE($8::jsonb, '{}'))"
            " ON CONFLICT (tenant_id) DO UPDATE SET"
            " messages_per_minute = COALESCE($2, tenant_limits.messages_per_minute),"
            " sync_events_per_hour = COALESCE($3, tenant_limits.sync_events_per_hour),"
            " duplicate_window_seconds = COALESCE($4, tenant_limits.duplicate_window_seconds),"
            " intents = COALESCE($8::jsonb, tenant_limits.intents),"
            f" updated_at = now() RETURNING {_COLUMNS}",
            tenant_id, messages_per_minute, sync_events_per_hour, duplicate_window_seconds,
            DEFAULTS.messages_per_minute, DEFAULTS.sync_events_per_hour,
            DEFAULTS.duplicate_window_seconds, None if intents is None else dict(intents))
    except asyncpg.ForeignKeyViolationError:
        raise UnknownTenant(f"no tenant {tenant_id!r}") from None
    return from_row(row)


async def reset_limits(pool: asyncpg.Pool, tenant_id: str) -> bool:
    """Return a tenant to the defaults; False if it had none of its own."""
    status = await pool.execute("DELETE FROM tenant_limits WHERE tenant_id = $1", tenant_id)
    return bool(status != "DELETE 0")
