"""Two gateway workers checking the same agent at once: the limit holds exactly.

Each worker is its own asyncpg pool with ten connections, so up to twenty checks really run in
parallel on the server. Without the lock (count, then insert, unserialised) several checks would
count the same nine entries and all insert.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from infra.governance import CircuitBreaker, Verdict
from tests.governance.counting import logged

ROUNDS = 5


@pytest.fixture
def workers(worker_pools: tuple[asyncpg.Pool, asyncpg.Pool]
            ) -> tuple[CircuitBreaker, CircuitBreaker]:
    """One breaker per worker, each on its own pool."""
    return CircuitBreaker(worker_pools[0]), CircuitBreaker(worker_pools[1])


async def test_fifty_concurrent_messages_from_two_workers_allow_exactly_ten(
        workers: tuple[CircuitBreaker, CircuitBreaker], tenant: str, db: asyncpg.Pool) -> None:
    for _ in range(ROUNDS):
        agent = f"coder-{uuid.uuid4().hex[:6]}"
        verdicts: list[Verdict] = await asyncio.gather(*(
            workers[i % 2].check_message(tenant, agent, f"status {i}") for i in range(50)))
        assert sum(v.allowed for v in verdicts) == 10
        assert all(v.reason is not None and "limit 10 per minute" in v.reason
                   for v in verdicts if not v.allowed)
        assert await logged(db, tenant, "message", agent) == 10  # refusals not recorded


async def test_the_same_message_sent_concurrently_goes_out_once(
        workers: tuple[CircuitBreaker, CircuitBreaker], tenant: str) -> None:
    for _ in range(ROUNDS):
        agent = f"coder-{uuid.uuid4().hex[:6]}"
        verdicts: list[Verdict] = await asyncio.gather(*(
            workers[i % 2].check_message(tenant, agent, "I will retry now") for i in range(20)))
        assert sum(v.allowed for v in verdicts) == 1
        assert sum(v.stuck for v in verdicts) == 19


async def test_concurrent_sync_events_from_two_workers_allow_exactly_the_limit(
        workers: tuple[CircuitBreaker, CircuitBreaker], tenant: str, db: asyncpg.Pool) -> None:
    for _ in range(ROUNDS):
        project = f"web-{uuid.uuid4().hex[:6]}"
        verdicts: list[Verdict] = await asyncio.gather(*(
            workers[i % 2].check_sync_event(tenant, project) for i in range(130)))
        assert sum(v.allowed for v in verdicts) == 100
        assert await logged(db, tenant, "sync", project) == 100
