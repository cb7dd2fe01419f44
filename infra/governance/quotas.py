"""Per-tenant API quotas by plan: requests a minute on the agent- and user-facing routes.

Each tenant is on a plan (``free`` without a row) whose default rate a tenant may override.
Requests are counted per tenant in fixed one-minute windows, in PostgreSQL so that every API
process shares the count: one statement per request, an UPSERT that adds one to the current
window's row (the row lock serialises concurrent increments; nothing else is locked), deletes
the tenant's earlier windows and reads the tenant's plan. A request over the quota is still
counted; it does not move the window's end, which is when the tenant may come back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from infra.governance.tenant_limits import UnknownTenant

PLANS: dict[str, int] = {"free": 20, "pro": 60, "power": 120, "team": 200}
"""Requests a minute of each plan, unless the tenant has its own."""
DEFAULT_PLAN = "free"
WINDOW = timedelta(minutes=1)
BOUNDS = (1, 1_000_000)

# $1 tenant, $2 now (tests) or NULL for the transaction's time.
_COUNT = (
    "WITH t AS (SELECT COALESCE($2::timestamptz, now()) AS ts),"
    " w AS (SELECT date_trunc('minute', t.ts) AS start FROM t),"
    " old AS (DELETE FROM quota_windows q USING w"
    "  WHERE q.tenant_id = $1 AND q.window_start < w.start)"
    " INSERT INTO quota_windows AS q (tenant_id, window_start, requests)"
    " SELECT $1, w.start, 1 FROM w"
    " ON CONFLICT (tenant_id, window_start) DO UPDATE SET requests = q.requests + 1"
    " RETURNING q.requests, q.window_start, (SELECT ts FROM t) AS now,"
    " (SELECT p.plan FROM tenant_quotas p WHERE p.tenant_id = $1) AS plan,"
    " (SELECT p.requests_per_minute FROM tenant_quotas p WHERE p.tenant_id = $1) AS own")

_QUOTA_COLUMNS = "plan, requests_per_minute"


@dataclass(frozen=True)
class Quota:
    """A tenant's plan and the requests a minute it may make."""

    plan: str = DEFAULT_PLAN
    requests_per_minute: int = PLANS[DEFAULT_PLAN]
    custom: bool = False
    """The rate is the tenant's own, not its plan's."""


@dataclass(frozen=True)
class QuotaVerdict:
    """Allowed, or refused until the window ends (``retry_after``)."""

    allowed: bool
    used: int
    limit: int
    retry_after: timedelta | None = None

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds to wait (at least 1), for ``Retry-After``."""
        wait = self.retry_after or timedelta(0)
        return max(1, math.ceil(wait.total_seconds()))

    @property
    def detail(self) -> str:
        """Why a request was refused, for the 429's body."""
        return (f"the tenant made {self.used} requests this minute (quota {self.limit} a "
                f"minute); retry in {self.retry_after_seconds} s")


def quota_of(plan: str | None, own: int | None) -> Quota:
    """The quota of a tenant on ``plan`` (None: the default plan) with its own rate or None."""
    name = plan or DEFAULT_PLAN
    return Quota(name, own if own is not None else PLANS[name], own is not None)


def judge(used: int, quota: Quota, window_start: datetime, now: datetime) -> QuotaVerdict:
    """The verdict on the ``used``-th request of a window that began at ``window_start``."""
    if used <= quota.requests_per_minute:
        return QuotaVerdict(True, used, quota.requests_per_minute)
    return QuotaVerdict(False, used, quota.requests_per_minute,
                        window_start + WINDOW - now)


class Quotas:
    """Counts a tenant's API requests and says whether each is within its quota."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def admit(self, tenant_id: str, now: datetime | None = None) -> QuotaVerdict:
        """Count one request of the tenant; refused past its quota until the minute ends.

        A tenant that does not exist is not counted (its route answers 404).
        """
        if now is not None and now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        try:
            row = await self._pool.fetchrow(_COUNT, tenant_id, now)
        except asyncpg.ForeignKeyViolationError:
            return QuotaVerdict(True, 0, 0)
        assert row is not None
        return judge(row["requests"], quota_of(row["plan"], row["own"]), row["window_start"],
                     row["now"])

    async def get(self, tenant_id: str) -> Quota:
        """The tenant's plan and quota (``free`` when it has none set)."""
        row = await self._pool.fetchrow(
            f"SELECT {_QUOTA_COLUMNS} FROM tenant_quotas WHERE tenant_id = $1", tenant_id)
        return quota_of(row["plan"], row["requests_per_minute"]) if row else quota_of(None, None)

    async def set(self, tenant_id: str, plan: str | None = None, *,
                  requests_per_minute: int | None = None, keep_rate: bool = True) -> Quota:
        """Put the tenant on ``plan`` (None keeps it) and set its own rate.

        ``keep_rate`` keeps the tenant's own rate when ``requests_per_minute`` is None;
        otherwise None returns it to its plan's. Raises ``ValueError`` for an unknown plan or
        a rate out of bounds, ``UnknownTenant`` for a tenant that does not exist.
        """
        if plan is not None and plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; plans: {', '.join(PLANS)}")
        low, high = BOUNDS
        if requests_per_minute is not None and not low <= requests_per_minute <= high:
            raise ValueError(f"requests_per_minute must be between {low} and {high}, "
                             f"not {requests_per_minute}")
        try:
            row = await self._pool.fetchrow(
                "INSERT INTO tenant_quotas (tenant_id, plan, requests_per_minute)"
                " VALUES ($1, COALESCE($2, $4), $3)"
                " ON CONFLICT (tenant_id) DO UPDATE SET"
                " plan = COALESCE($2, tenant_quotas.plan),"
                " requests_per_minute = CASE WHEN $3::int IS NULL AND $5"
                "  THEN tenant_quotas.requests_per_minute ELSE $3 END,"
                f" updated_at = now() RETURNING {_QUOTA_COLUMNS}",
                tenant_id, plan, requests_per_minute, DEFAULT_PLAN, keep_rate)
        except asyncpg.ForeignKeyViolationError:
            raise UnknownTenant(f"no tenant {tenant_id!r}") from None
        assert row is not None
        return quota_of(row["plan"], row["requests_per_minute"])
