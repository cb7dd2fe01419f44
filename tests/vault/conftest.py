"""Both secret store backends on real servers: the session PostgreSQL and a local fake Vault."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest
from pydantic import SecretStr

from infra import database
from infra.crypto import Sealer
from infra.directory import tenants
from infra.settings import VaultSettings
from infra.vault import EmbeddedSecretStore, HashiCorpSecretStore, SecretStore
from tests.fakes.vault_server import FakeVault

ROOT_TOKEN = "hvs.root-token-for-tests-0123456789"
ROLE_ID = "role-switchboard"
SECRET_ID = "approle-secret-id-0123456789"

NewTenant = Callable[[], Awaitable[str]]


@pytest.fixture(scope="session")
async def vault_pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the session database (migrated, so the ``secrets`` table exists)."""
    pool = await database.create_pool(pg_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def master_key() -> bytes:
    """A random master key for this session's embedded stores."""
    return os.urandom(32)


@pytest.fixture
def new_tenant(vault_pool: asyncpg.Pool) -> NewTenant:
    """Create a fresh tenant row; returns its id."""

    async def make() -> str:
        tenant = f"v-{uuid.uuid4().hex[:12]}"
        assert await tenants.create_tenant(vault_pool, tenant, tenant, []) is not None
        return tenant

    return make


@pytest.fixture
def fake_vault() -> Iterator[FakeVault]:
    """A fake Vault knowing the root token and one AppRole."""
    with FakeVault(root_token=ROOT_TOKEN, role_id=ROLE_ID, secret_id=SECRET_ID) as fake:
        yield fake


def vault_settings(fake: FakeVault, *, approle: bool = False, **changes: object) -> VaultSettings:
    """Settings pointing at ``fake``, every field explicit so no VAULT_* variable leaks in."""
    fields: dict[str, object] = {
        "backend": "hashicorp", "addr": fake.url, "mount": fake.mount,
        "path_prefix": "switchboard", "timeout_seconds": 5.0,
        "token": None if approle else SecretStr(ROOT_TOKEN),
        "role_id": ROLE_ID if approle else None,
        "secret_id": SecretStr(SECRET_ID) if approle else None,
    }
    return VaultSettings(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture(params=["embedded", "hashicorp"])
def store(
    request: pytest.FixtureRequest, vault_pool: asyncpg.Pool, master_key: bytes,
    fake_vault: FakeVault,
) -> SecretStore:
    """Each backend in turn, for the contract tests."""
    if request.param == "embedded":
        return EmbeddedSecretStore(vault_pool, Sealer(master_key))
    return HashiCorpSecretStore(vault_settings(fake_vault, approle=True))
