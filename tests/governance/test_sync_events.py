"""Sync events: at most N per project per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from infra.governance import CircuitBreaker
from tests.governance.counting import logged

S = timedelta(seconds=1)


async def test_the_101st_sync_event_in_an_hour_is_refused(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    t0 = datetime.now(UTC)
    for i in range(100):
        assert (await breaker.check_sync_event(tenant, "web", t0 + i * 10 * S)).allowed
    refused = await breaker.check_sync_event(tenant, "web", t0 + 1800 * S)
    assert not refused.allowed and not refused.stuck
    assert refused.reason == ("project web had 100 sync events in the last hour "
                              "(limit 100 per hour); retry in 1800 s")
    assert refused.retry_after == 1800 * S
    assert await logged(db, tenant, "sync", "web") == 100

    assert (await breaker.check_sync_event(tenant, "api", t0 + 1800 * S)).allowed
    assert not (await breaker.check_sync_event(tenant, "web", t0 + 3599 * S)).allowed
    assert (await breaker.check_sync_event(tenant, "web", t0 + 3600 * S)).allowed


async def test_sync_events_do_not_count_against_messages(
        breaker: CircuitBreaker, tenant: str) -> None:
    t0 = datetime.now(UTC)
    await breaker.set_limits(tenant, sync_events_per_hour=2)
    assert (await breaker.check_sync_event(tenant, "coder", t0)).allowed
    assert (await breaker.check_sync_event(tenant, "coder", t0)).allowed
    assert not (await breaker.check_sync_event(tenant, "coder", t0)).allowed
    assert (await breaker.check_message(tenant, "coder", "hi", t0)).allowed


async def test_a_retried_sync_event_is_counted_once(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    for _ in range(3):
        assert (await breaker.check_sync_event(tenant, "web", key="sync-42")).allowed
    assert await logged(db, tenant, "sync", "web") == 1
