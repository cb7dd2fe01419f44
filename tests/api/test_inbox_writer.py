"""Deliveries committed together (group commit) still get one answer each, and only rows that
were committed are answered as stored."""

from __future__ import annotations

import asyncio

import asyncpg

from infra import database
from infra.inbox.writer import InboxWriter
from infra.settings import Settings
from tests.conftest import TenantFactory


async def test_deliveries_arriving_together_each_get_their_own_answer(
    pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    writer = InboxWriter(pool)
    keys = [f"delivery-{i}" for i in range(30)] + ["delivery-3", "delivery-7"]  # 2 redeliveries
    results = await asyncio.gather(*(writer.insert(tenant, "github", key, "issues", b"{}")
                                     for key in keys))
    stored = {key: inbox_id for key, inbox_id in zip(keys, results, strict=True) if inbox_id}
    assert len(stored) == 30 and results.count(None) == 2
    rows = await pool.fetch("SELECT dedup_key, id FROM inbox WHERE tenant_id = $1", tenant)
    assert {r["dedup_key"]: r["id"] for r in rows} == stored


async def test_a_row_that_cannot_be_stored_fails_alone(
    pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    writer = InboxWriter(pool)
    owners = [tenant] * 12
    owners[5] = "no-such-tenant"
    results = await asyncio.gather(
        *(writer.insert(owner, "github", f"delivery-{i}", "issues", b"{}")
          for i, owner in enumerate(owners)),
        return_exceptions=True)
    assert isinstance(results[5], asyncpg.ForeignKeyViolationError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 5)
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant) == 11


async def test_a_row_with_unstorable_text_fails_alone_with_a_data_error(
    pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    victim, poisoner = await make_tenant(), await make_tenant()
    writer = InboxWriter(pool, lanes=1)  # one lane: every row below goes in one batch
    rows = [(victim, f"delivery-{i}") for i in range(40)]
    rows.insert(17, (poisoner, "Ev\x00x"))  # PostgreSQL text cannot hold NUL
    results = await asyncio.gather(
        *(writer.insert(owner, "slack", key, "event_callback/app_mention", b"{}")
          for owner, key in rows),
        return_exceptions=True)
    assert isinstance(results[17], asyncpg.DataError), results[17]
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 17), results
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", victim) == 40
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", poisoner) == 0


async def test_a_batch_on_a_closed_pool_answers_every_caller(
    settings: Settings, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    assert settings.database.url is not None
    closed = await database.create_pool(settings.database.url, min_size=1, max_size=1)
    await closed.close()
    writer = InboxWriter(closed, lanes=1)
    results = await asyncio.wait_for(asyncio.gather(
        *(writer.insert(tenant, "github", f"d-{i}", "issues", b"{}") for i in range(10)),
        return_exceptions=True), 30)
    assert all(isinstance(r, asyncpg.InterfaceError) for r in results), results
