"""Two pools on the session database (two gateway workers) and a fresh tenant per test.

Only the session's PostgreSQL is needed: no Temporal server, no API.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra import database
from infra.crypto import Sealer
from infra.gateway.registry import builtin_intents
from infra.gateway.service import Gateway
from infra.governance import CircuitBreaker, StuckAgents
from infra.settings import GatewaySettings
from infra.vault.embedded import EmbeddedSecretStore
from tests.governance.counting import TenantFactory


@pytest.fixture(scope="session")
async def worker_pools(pg_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two independent pools, as two gateway worker processes would hold."""
    a = await database.create_pool(pg_url, min_size=10, max_size=10)
    b = await database.create_pool(pg_url, min_size=10, max_size=10)
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
def db(worker_pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> asyncpg.Pool:
    """A pool for setting up and asserting."""
    return worker_pools[0]


@pytest.fixture
def breaker(db: asyncpg.Pool) -> CircuitBreaker:
    """The circuit breaker of one worker."""
    return CircuitBreaker(db)


@pytest.fixture
def new_tenant(db: asyncpg.Pool) -> TenantFactory:
    """Insert a fresh tenant (only its row: the breaker needs nothing else)."""

    async def make() -> str:
        tenant = f"t-{uuid.uuid4().hex[:12]}"
        await db.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", tenant)
        return tenant

    return make


@pytest.fixture
async def tenant(new_tenant: TenantFactory) -> str:
    """A fresh tenant."""
    return await new_tenant()



async def vaulted_gateway(db: asyncpg.Pool, tenant: str, secret: str, token: str,
                          settings: GatewaySettings) -> Gateway:
    """The real gateway of one worker, with the tenant's ``secret`` in the embedded vault."""
    vault = EmbeddedSecretStore(db, Sealer(os.urandom(32)))
    await vault.put(tenant, secret, token)
    return Gateway(db, vault, settings, builtin_intents(), on_stuck=StuckAgents(db))
