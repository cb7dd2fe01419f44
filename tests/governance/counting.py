"""Helpers of the governance tests: what the breaker recorded, read straight from its table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

TenantFactory = Callable[[], Awaitable[str]]


async def logged(db: asyncpg.Pool, tenant: str, kind: str, subject: str) -> int:
    """How many entries the breaker holds for one agent ('message') or project ('sync')."""
    n: int = await db.fetchval(
        "SELECT count(*) FROM breaker_log WHERE tenant_id = $1 AND kind = $2 AND subject = $3",
        tenant, kind, subject)
    return n
