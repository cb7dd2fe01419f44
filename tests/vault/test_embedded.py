"""The embedded backend: what lands in PostgreSQL, sealing bound to the row, the key policy."""

from __future__ import annotations

import base64
import os

import asyncpg
import pytest
from pydantic import SecretStr

from infra.crypto import Sealer
from infra.settings import DatabaseSettings, Settings, VaultSettings
from infra.vault import (
    EmbeddedSecretStore,
    HashiCorpSecretStore,
    SecretStoreConfigError,
    SecretUnreadable,
    UnknownTenant,
    build_secret_store,
    checked_master_key,
)
from tests.vault.conftest import NewTenant

VALUE = "ghp_plaintext-that-must-not-be-stored"


@pytest.fixture
def embedded(vault_pool: asyncpg.Pool, master_key: bytes) -> EmbeddedSecretStore:
    """The embedded store under the session's master key."""
    return EmbeddedSecretStore(vault_pool, Sealer(master_key))


async def test_the_table_holds_ciphertext_only(
    embedded: EmbeddedSecretStore, vault_pool: asyncpg.Pool, new_tenant: NewTenant
) -> None:
    tenant = await new_tenant()
    await embedded.put(tenant, "github_token", VALUE)
    row = await vault_pool.fetchrow(
        "SELECT * FROM secrets WHERE tenant_id = $1 AND name = 'github_token'", tenant)
    assert row is not None
    stored = bytes(row["value_enc"])
    assert VALUE.encode() not in stored
    assert VALUE not in repr(dict(row))
    assert len(stored) == 12 + len(VALUE) + 16  # nonce + ciphertext + GCM tag
    await embedded.put(tenant, "github_token", VALUE)  # a fresh nonce every time
    again = await vault_pool.fetchval(
        "SELECT value_enc FROM secrets WHERE tenant_id = $1 AND name = 'github_token'", tenant)
    assert bytes(again) != stored


async def test_a_row_moved_to_another_tenant_or_name_does_not_open(
    embedded: EmbeddedSecretStore, vault_pool: asyncpg.Pool, new_tenant: NewTenant
) -> None:
    victim, thief = await new_tenant(), await new_tenant()
    await embedded.put(victim, "github_token", VALUE)
    await vault_pool.execute(
        "INSERT INTO secrets (tenant_id, name, value_enc) SELECT $2, name, value_enc"
        " FROM secrets WHERE tenant_id = $1 AND name = 'github_token'", victim, thief)
    await vault_pool.execute(
        "INSERT INTO secrets (tenant_id, name, value_enc) SELECT tenant_id, 'slack_token',"
        " value_enc FROM secrets WHERE tenant_id = $1 AND name = 'github_token'", victim)
    with pytest.raises(SecretUnreadable, match="github_token") as moved:
        await embedded.get(thief, "github_token")
    with pytest.raises(SecretUnreadable) as renamed:
        await embedded.get(victim, "slack_token")
    assert VALUE not in str(moved.value) + str(renamed.value)
    assert await embedded.get(victim, "github_token") == VALUE


async def test_another_master_key_cannot_read(
    embedded: EmbeddedSecretStore, vault_pool: asyncpg.Pool, new_tenant: NewTenant
) -> None:
    tenant = await new_tenant()
    await embedded.put(tenant, "token", VALUE)
    other = EmbeddedSecretStore(vault_pool, Sealer(os.urandom(32)))
    with pytest.raises(SecretUnreadable, match="SWITCHBOARD_MASTER_KEY"):
        await other.get(tenant, "token")


async def test_unknown_tenants_and_tenant_deletion(
    embedded: EmbeddedSecretStore, vault_pool: asyncpg.Pool, new_tenant: NewTenant
) -> None:
    with pytest.raises(UnknownTenant):
        await embedded.put("no-such-tenant", "token", VALUE)
    tenant = await new_tenant()
    await embedded.put(tenant, "token", VALUE)
    await vault_pool.execute("DELETE FROM tenants WHERE id = $1", tenant)
    assert await embedded.names(tenant) == []


def _settings(key: bytes | None, *, dev_mode: bool, **vault: object) -> Settings:
    return Settings(
        dev_mode=dev_mode, admin_token=None,
        master_key=SecretStr(base64.b64encode(key).decode()) if key is not None else None,
        database=DatabaseSettings(url="postgresql://unused/db"),
        vault=VaultSettings(backend="embedded", **vault),  # type: ignore[arg-type]
    )


WEAK_KEYS = {
    "zeros": bytes(32),
    "one repeated byte": b"\x41" * 32,
    "short pattern": b"\xde\xad\xbe\xef" * 8,
    "counting": bytes(range(32)),
    "typed text": b"my-master-key-for-switchboard-01",
}


@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
async def test_placeholder_keys_are_refused_outside_dev_mode(
    key: bytes, vault_pool: asyncpg.Pool
) -> None:
    with pytest.raises(SecretStoreConfigError, match="SWITCHBOARD_MASTER_KEY is a placeholder"):
        build_secret_store(_settings(key, dev_mode=False), vault_pool)
    assert checked_master_key(_settings(key, dev_mode=True)) == key  # dev mode: a warning


async def test_a_missing_key_is_refused_even_in_dev_mode(vault_pool: asyncpg.Pool) -> None:
    for dev_mode in (False, True):
        with pytest.raises(SecretStoreConfigError, match="SWITCHBOARD_MASTER_KEY is not set"):
            build_secret_store(_settings(None, dev_mode=dev_mode), vault_pool)


async def test_a_random_key_builds_the_embedded_store(vault_pool: asyncpg.Pool) -> None:
    key = os.urandom(32)
    store = build_secret_store(_settings(key, dev_mode=False), vault_pool)
    assert isinstance(store, EmbeddedSecretStore)
    assert checked_master_key(_settings(key, dev_mode=False)) == key


async def test_the_hashicorp_backend_needs_no_master_key(vault_pool: asyncpg.Pool) -> None:
    settings = _settings(None, dev_mode=False).model_copy(update={"vault": VaultSettings(
        backend="hashicorp", addr="http://127.0.0.1:1", token=SecretStr("t"),
        role_id=None, secret_id=None)})
    assert isinstance(build_secret_store(settings, vault_pool), HashiCorpSecretStore)
