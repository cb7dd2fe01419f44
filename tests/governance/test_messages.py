"""Outgoing messages: at most N per agent per minute, and the same text twice is a stuck agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from infra.governance import CircuitBreaker, message_hash
from tests.governance.counting import TenantFactory, logged

S = timedelta(seconds=1)


async def send(breaker: CircuitBreaker, tenant: str, agent: str, count: int, at: datetime,
               step: timedelta = S, prefix: str = "update") -> list[bool]:
    """``count`` different messages, one every ``step`` from ``at``; whether each was allowed."""
    return [(await breaker.check_message(tenant, agent, f"{prefix} {i}", at + i * step)).allowed
            for i in range(count)]


async def test_the_eleventh_message_in_a_minute_is_refused_until_the_oldest_leaves(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    t0 = datetime.now(UTC)
    assert await send(breaker, tenant, "coder", 10, t0) == [True] * 10

    refused = await breaker.check_message(tenant, "coder", "one more", t0 + 30 * S)
    assert not refused.allowed and not refused.stuck
    assert refused.reason is not None
    assert refused.reason.startswith("agent coder made 10 writes (messages, comments, issues, "
                                     "tasks, pushes) in the last 60 s (limit 10 per minute)")
    # The oldest counted message (t0) leaves the window at t0 + 60 s: 30 s from now.
    assert refused.retry_after == 30 * S
    assert "retry in 30 s" in refused.reason
    assert await logged(db, tenant, "message", "coder") == 10  # the refusal was not recorded

    early = await breaker.check_message(tenant, "coder", "one more", t0 + 60 * S - S / 1000)
    assert not early.allowed and early.retry_after == S / 1000
    assert (await breaker.check_message(tenant, "coder", "one more", t0 + 60 * S)).allowed
    # Then the next one waits for the second oldest (t0 + 1 s) to leave.
    nxt = await breaker.check_message(tenant, "coder", "and another", t0 + 60 * S)
    assert not nxt.allowed and nxt.retry_after == S


async def test_messages_spread_over_more_than_a_minute_are_all_allowed(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    t0 = datetime.now(UTC)
    assert all(await send(breaker, tenant, "coder", 40, t0, step=7 * S))
    # Pruned as it goes: only the entries still inside a window are kept.
    assert await logged(db, tenant, "message", "coder") <= 10


async def test_each_agent_has_its_own_count(breaker: CircuitBreaker, tenant: str) -> None:
    t0 = datetime.now(UTC)
    assert all(await send(breaker, tenant, "coder", 10, t0))
    assert not (await breaker.check_message(tenant, "coder", "x", t0 + 20 * S)).allowed
    assert all(await send(breaker, tenant, "reviewer", 10, t0))
    assert not (await breaker.check_message(tenant, "reviewer", "x", t0 + 20 * S)).allowed


async def test_the_same_agent_id_in_another_tenant_is_counted_apart(
        breaker: CircuitBreaker, tenant: str, new_tenant: TenantFactory) -> None:
    other = await new_tenant()
    t0 = datetime.now(UTC)
    assert all(await send(breaker, tenant, "coder", 10, t0))
    assert all(await send(breaker, other, "coder", 10, t0))


async def test_the_same_message_twice_within_ten_seconds_is_a_stuck_agent(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    t0 = datetime.now(UTC)
    assert (await breaker.check_message(tenant, "coder", "Deploying now.", t0)).allowed
    again = await breaker.check_message(tenant, "coder", "  Deploying \n now. ", t0 + 9 * S)
    assert not again.allowed and again.stuck
    assert again.reason == "agent coder sent the same message twice within 10 s: stuck agent"
    assert again.retry_after is None  # waiting does not help: an admin resumes the agent
    assert await logged(db, tenant, "message", "coder") == 1  # the duplicate is not sent

    # Another agent saying the same thing is not a duplicate; other text is not either.
    assert (await breaker.check_message(tenant, "reviewer", "Deploying now.", t0 + S)).allowed
    assert (await breaker.check_message(tenant, "coder", "Deploying now!", t0 + 2 * S)).allowed


async def test_the_same_message_after_ten_seconds_is_allowed(
        breaker: CircuitBreaker, tenant: str) -> None:
    t0 = datetime.now(UTC)
    assert (await breaker.check_message(tenant, "coder", "Build is green", t0)).allowed
    assert (await breaker.check_message(tenant, "coder", "Build is green", t0 + 10 * S)).allowed
    assert (await breaker.check_message(tenant, "coder", "Build is green", t0 + 21 * S)).allowed


async def test_a_stuck_agent_is_reported_even_when_also_over_the_rate(
        breaker: CircuitBreaker, tenant: str) -> None:
    t0 = datetime.now(UTC)
    assert all(await send(breaker, tenant, "coder", 10, t0, step=S / 10))
    verdict = await breaker.check_message(tenant, "coder", "update 9", t0 + 2 * S)
    assert not verdict.allowed and verdict.stuck


async def test_a_retry_of_the_same_call_is_neither_counted_twice_nor_a_duplicate(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    t0 = datetime.now(UTC)
    first = await breaker.check_message(tenant, "coder", "hello", t0, key="run-1/3")
    retry = await breaker.check_message(tenant, "coder", "hello", t0 + S, key="run-1/3")
    assert first.allowed and retry.allowed
    assert await logged(db, tenant, "message", "coder") == 1
    # The same text under a new key (a new step of the agent) is a duplicate.
    looping = await breaker.check_message(tenant, "coder", "hello", t0 + 2 * S, key="run-1/4")
    assert looping.stuck


async def test_without_now_the_database_clock_is_used(
        breaker: CircuitBreaker, tenant: str, db: asyncpg.Pool) -> None:
    before = await db.fetchval("SELECT clock_timestamp()")
    assert (await breaker.check_message(tenant, "coder", "tick")).allowed
    assert (await breaker.check_message(tenant, "coder", "tick")).stuck
    at = await db.fetchval("SELECT at FROM breaker_log WHERE tenant_id = $1", tenant)
    assert before <= at <= await db.fetchval("SELECT clock_timestamp()")


def test_the_hash_ignores_surrounding_and_repeated_whitespace_only() -> None:
    assert message_hash(" Build\t is\n\ngreen ") == message_hash("Build is green")
    assert message_hash("Build is green") != message_hash("build is green")
    assert len(message_hash("x")) == 32
    assert message_hash("x", "slack_post_message:C1") != message_hash("x", "slack_post_message:C2")


async def test_a_naive_now_is_refused(breaker: CircuitBreaker, tenant: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await breaker.check_message(tenant, "coder", "hi", datetime(2025, 1, 1))  # noqa: DTZ001
