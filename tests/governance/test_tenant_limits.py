"""Limits per tenant: defaults without a row, partial changes, and the breaker obeying them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from infra.governance import DEFAULTS, CircuitBreaker, Limits, UnknownTenant
from tests.governance.counting import TenantFactory

S = timedelta(seconds=1)


async def test_a_tenant_without_limits_of_its_own_gets_the_defaults(
        breaker: CircuitBreaker, tenant: str) -> None:
    assert await breaker.get_limits(tenant) == DEFAULTS == Limits(10, 100, 10)


async def test_set_limits_changes_only_what_it_is_given(
        breaker: CircuitBreaker, tenant: str) -> None:
    assert await breaker.set_limits(tenant, messages_per_minute=3) == Limits(3, 100, 10)
    assert await breaker.set_limits(tenant, duplicate_window_seconds=30) == Limits(3, 100, 30)
    assert await breaker.get_limits(tenant) == Limits(3, 100, 30)
    assert await breaker.reset_limits(tenant)
    assert await breaker.get_limits(tenant) == DEFAULTS
    assert not await breaker.reset_limits(tenant)


async def test_limits_out_of_bounds_or_of_an_unknown_tenant_are_refused(
        breaker: CircuitBreaker, tenant: str) -> None:
    with pytest.raises(ValueError, match="messages_per_minute must be between 1 and"):
        await breaker.set_limits(tenant, messages_per_minute=0)
    with pytest.raises(ValueError, match="duplicate_window_seconds"):
        await breaker.set_limits(tenant, duplicate_window_seconds=3601)
    with pytest.raises(UnknownTenant):
        await breaker.set_limits("t-nobody", messages_per_minute=5)
    assert await breaker.get_limits(tenant) == DEFAULTS


async def test_each_tenant_is_held_to_its_own_limits(
        breaker: CircuitBreaker, new_tenant: TenantFactory) -> None:
    strict, lenient, default = await new_tenant(), await new_tenant(), await new_tenant()
    await breaker.set_limits(strict, messages_per_minute=3, duplicate_window_seconds=60)
    await breaker.set_limits(lenient, messages_per_minute=25)
    t0 = datetime.now(UTC)

    async def allowed(tenant: str, count: int) -> int:
        verdicts = [await breaker.check_message(tenant, "coder", f"m{i}", t0 + i * S)
                    for i in range(count)]
        return sum(v.allowed for v in verdicts)

    assert await allowed(strict, 30) == 3
    assert await allowed(lenient, 30) == 25
    assert await allowed(default, 30) == 10
    refused = await breaker.check_message(strict, "coder", "late", t0 + 40 * S)
    assert refused.reason is not None and "(limit 3 per minute)" in refused.reason
    assert refused.retry_after == 20 * S  # the 3rd newest (m0 at t0) leaves at t0 + 60 s

    # strict's duplicate window is 60 s: the same text 45 s later is still a stuck agent.
    stuck = await breaker.check_message(strict, "coder", "m0", t0 + 45 * S)
    assert stuck.stuck and stuck.reason is not None and "within 60 s" in stuck.reason
    assert not (await breaker.check_message(default, "coder", "m0", t0 + 45 * S)).stuck


async def test_lowering_a_limit_takes_effect_at_once(
        breaker: CircuitBreaker, tenant: str) -> None:
    t0 = datetime.now(UTC)
    for i in range(8):
        assert (await breaker.check_message(tenant, "coder", f"m{i}", t0 + i * S)).allowed
    await breaker.set_limits(tenant, messages_per_minute=5)
    refused = await breaker.check_message(tenant, "coder", "more", t0 + 10 * S)
    assert refused.reason is not None and "made 8 writes" in refused.reason
    # Allowed again once only 4 remain: when the 5th newest (t0 + 3 s) leaves.
    assert refused.retry_after == 53 * S
    assert not (await breaker.check_message(tenant, "coder", "more", t0 + 62 * S)).allowed
    assert (await breaker.check_message(tenant, "coder", "more", t0 + 63 * S)).allowed


async def test_deleting_a_tenant_deletes_its_limits_and_log(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    await breaker.set_limits(tenant, messages_per_minute=5)
    await breaker.check_message(tenant, "coder", "hi")
    await breaker.check_sync_event(tenant, "web")
    await db.execute("DELETE FROM tenants WHERE id = $1", tenant)
    for table in ("tenant_limits", "breaker_log"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant) == 0


async def test_per_intent_limits_are_kept_replaced_as_a_whole_and_bounded(
        breaker: CircuitBreaker, tenant: str) -> None:
    limits = await breaker.set_limits(tenant, intents={"github_create_issue": 5})
    assert limits == Limits(10, 100, 10, {"github_create_issue": 5})
    assert limits.per_minute("github_create_issue") == 5
    assert limits.per_minute("slack_post_message") == 10  # the general rate
    kept = await breaker.set_limits(tenant, messages_per_minute=20)
    assert kept.intents == {"github_create_issue": 5}
    replaced = await breaker.set_limits(tenant, intents={"clickup_create_task": 2})
    assert (await breaker.get_limits(tenant)).intents == replaced.intents == {
        "clickup_create_task": 2}
    with pytest.raises(ValueError, match="the limit of github_push must be between 1 and"):
        await breaker.set_limits(tenant, intents={"github_push": 0})
    assert (await breaker.set_limits(tenant, intents={})).intents == {}
