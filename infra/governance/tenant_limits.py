"""Each tenant's circuit-breaker limits: a row in ``tenant_limits``, or the defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields

import asyncpg


class UnknownTenant(LookupError):
    """Limits were set for a tenant that does not exist."""


@dataclass(frozen=True)
class Limits:
    """How much a tenant's agents and projects may do."""

    messages_per_minute: int = 10
    sync_events_per_hour: int = 100
    duplicate_window_seconds: int = 10


DEFAULTS = Limits()

# Inclusive bounds, the same as the table's CHECK constraints.
BOUNDS = {
    "messages_per_minute": (1, 10_000),
    "sync_events_per_hour": (1, 1_000_000),
    "duplicate_window_seconds": (1, 3600),
}


def from_row(row: asyncpg.Record | None) -> Limits:
    """Limits from a row holding the three columns (NULLs, or no row, mean the defaults)."""
    if row is None:
        return DEFAULTS
    return Limits(**{f.name: row[f.name] if row[f.name] is not None else getattr(DEFAULTS, f.name)
                     for f in fields(Limits)})


async def get_limits(conn: asyncpg.Pool | asyncpg.Connection, tenant_id: str) -> Limits:
    """The tenant's limits (the defaults when it has set none)."""
    return from_row(await conn.fetchrow(
        "SELECT messages_per_minute, sync_events_per_hour, duplicate_window_seconds"
        " FROM tenant_limits WHERE tenant_id = $1", tenant_id))


async def set_limits(pool: asyncpg.Pool, tenant_id: str, *, messages_per_minute: int | None = None,
                     sync_events_per_hour: int | None = None,
                     duplicate_window_seconds: int | None = None) -> Limits:
    """Change some of a tenant's limits (None keeps the current value); return all of them."""
    given = {"messages_per_minute": messages_per_minute,
             "sync_events_per_hour": sync_events_per_hour,
             "duplicate_window_seconds": duplicate_window_seconds}
    for name, value in given.items():
        low, high = BOUNDS[name]
        if value is not None and not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    try:
        row = await pool.fetchrow(
            "INSERT INTO tenant_limits (tenant_id, messages_per_minute, sync_events_per_hour,"
            " duplicate_window_seconds) VALUES ($1, COALESCE($2::int, $5), COALESCE($3::int, $6),"
            " COALESCE($4::int, $7)) ON CONFLICT (tenant_id) DO UPDATE SET"
            " messages_per_minute = COALESCE($2, tenant_limits.messages_per_minute),"
            " sync_events_per_hour = COALESCE($3, tenant_limits.sync_events_per_hour),"
            " duplicate_window_seconds = COALESCE($4, tenant_limits.duplicate_window_seconds),"
            " updated_at = now()"
            " RETURNING messages_per_minute, sync_events_per_hour, duplicate_window_seconds",
            tenant_id, messages_per_minute, sync_events_per_hour, duplicate_window_seconds,
            DEFAULTS.messages_per_minute, DEFAULTS.sync_events_per_hour,
            DEFAULTS.duplicate_window_seconds)
    except asyncpg.ForeignKeyViolationError:
        raise UnknownTenant(f"no tenant {tenant_id!r}") from None
    return from_row(row)


async def reset_limits(pool: asyncpg.Pool, tenant_id: str) -> bool:
    """Return a tenant to the defaults; False if it had none of its own."""
    status = await pool.execute("DELETE FROM tenant_limits WHERE tenant_id = $1", tenant_id)
    return bool(status != "DELETE 0")
