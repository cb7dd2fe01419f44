"""API quotas by plan, the core: counted per tenant per minute in PostgreSQL, shared by processes.

Only the session's PostgreSQL; two pools stand for two API processes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from infra.governance import UnknownTenant
from infra.governance.quotas import PLANS, Quota, Quotas
from tests.governance.counting import TenantFactory

S = timedelta(seconds=1)


def minute_start() -> datetime:
    """The start of the current minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


async def test_the_plans_and_a_tenant_without_one_on_free(
        db: asyncpg.Pool, tenant: str) -> None:
    assert PLANS == {"free": 20, "pro": 60, "power": 120, "team": 200}
    assert await Quotas(db).get(tenant) == Quota("free", 20, custom=False)


async def test_the_21st_request_of_a_free_tenant_in_a_minute_waits_for_the_next_minute(
        db: asyncpg.Pool, new_tenant: TenantFactory) -> None:
    quotas, busy, other = Quotas(db), await new_tenant(), await new_tenant()
    t0 = minute_start()
    assert [(await quotas.admit(busy, t0 + i * S)).allowed for i in range(20)] == [True] * 20
    refused = await quotas.admit(busy, t0 + 45 * S)
    assert not refused.allowed and refused.limit == 20 and refused.used == 21
    assert refused.retry_after == 15 * S and refused.retry_after_seconds == 15
    assert "quota 20 a minute" in refused.detail and "retry in 15 s" in refused.detail
    assert (await quotas.admit(other, t0 + 46 * S)).allowed  # another tenant is not held
    assert (await quotas.admit(busy, t0 + 60 * S)).allowed  # a new minute
    # Only the current window is kept.
    assert await db.fetchval("SELECT count(*) FROM quota_windows WHERE tenant_id = $1",
                             busy) == 1


async def test_a_plan_and_a_rate_of_its_own_change_the_quota(
        db: asyncpg.Pool, tenant: str) -> None:
    quotas = Quotas(db)
    assert await quotas.set(tenant, "pro") == Quota("pro", 60, custom=False)
    t0 = minute_start()
    verdicts = [await quotas.admit(tenant, t0 + i * S / 10) for i in range(61)]
    assert sum(v.allowed for v in verdicts) == 60
    assert await quotas.set(tenant, requests_per_minute=500) == Quota("pro", 500, custom=True)
    assert await quotas.set(tenant, "team") == Quota("team", 500, custom=True)  # rate kept
    assert await quotas.set(tenant, keep_rate=False) == Quota("team", 200, custom=False)


async def test_bad_plans_rates_and_unknown_tenants_are_refused(
        db: asyncpg.Pool, tenant: str) -> None:
    quotas = Quotas(db)
    with pytest.raises(ValueError, match="unknown plan 'gold'"):
        await quotas.set(tenant, "gold")
    with pytest.raises(ValueError, match="requests_per_minute must be between 1 and"):
        await quotas.set(tenant, requests_per_minute=0)
    with pytest.raises(UnknownTenant):
        await quotas.set("t-nobody", "pro")
    # A request naming no tenant is not counted (its route answers 404): nothing is stored.
    assert (await quotas.admit("t-nobody")).allowed
    assert not await db.fetchval("SELECT count(*) FROM quota_windows WHERE tenant_id = $1",
                                 "t-nobody")


async def test_two_processes_share_one_count(
        worker_pools: tuple[asyncpg.Pool, asyncpg.Pool], tenant: str) -> None:
    a, b = (Quotas(pool) for pool in worker_pools)
    t0 = minute_start() + 10 * S
    verdicts = await asyncio.gather(*(q.admit(tenant, t0) for q in (a, b) for _ in range(25)))
    assert sum(v.allowed for v in verdicts) == 20
    assert sorted(v.used for v in verdicts) == list(range(1, 51))


async def test_deleting_a_tenant_deletes_its_quota_and_count(
        db: asyncpg.Pool, tenant: str) -> None:
    await Quotas(db).set(tenant, "power")
    await Quotas(db).admit(tenant)
    await db.execute("DELETE FROM tenants WHERE id = $1", tenant)
    for table in ("tenant_quotas", "quota_windows"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant) == 0
