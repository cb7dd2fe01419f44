"""The SecretStore contract, run against both backends (embedded table and HashiCorp Vault)."""

from __future__ import annotations

import asyncio

import pytest

from infra.vault import InvalidSecret, SecretStore
from tests.vault.conftest import NewTenant

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


async def test_put_get_names_delete(store: SecretStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    assert await store.get(tenant, "github_token") is None
    assert await store.names(tenant) == []
    await store.put(tenant, "github_token", "ghp_first")
    await store.put(tenant, "slack.bot-token", "xoxb-1")
    assert await store.get(tenant, "github_token") == "ghp_first"
    await store.put(tenant, "github_token", "ghp_second")  # replaces
    assert await store.get(tenant, "github_token") == "ghp_second"
    assert await store.names(tenant) == ["github_token", "slack.bot-token"]
    entries = await store.entries(tenant)
    assert [e.name for e in entries] == ["github_token", "slack.bot-token"]
    assert all(e.updated_at is not None and e.updated_at.tzinfo is not None for e in entries)
    assert await store.delete(tenant, "github_token") is True
    assert await store.delete(tenant, "github_token") is False
    assert await store.get(tenant, "github_token") is None
    assert await store.names(tenant) == ["slack.bot-token"]


async def test_values_round_trip_exactly(store: SecretStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    for name, value in (("pem", PEM), ("unicode", "clé ✓ 秘密"), ("spaces", "  padded  ")):
        await store.put(tenant, name, value)
        assert await store.get(tenant, name) == value


async def test_a_tenant_never_reaches_another_tenants_secrets(
    store: SecretStore, new_tenant: NewTenant
) -> None:
    a, b = await new_tenant(), await new_tenant()
    await asyncio.gather(store.put(a, "token", "value-of-a"), store.put(b, "token", "value-of-b"),
                         store.put(a, "only-a", "private-to-a"))
    assert await store.get(a, "token") == "value-of-a"
    assert await store.get(b, "token") == "value-of-b"
    assert await store.get(b, "only-a") is None
    assert await store.names(b) == ["token"]
    assert await store.delete(b, "only-a") is False
    assert await store.get(a, "only-a") == "private-to-a"
    assert await store.delete(a, "token") is True
    assert await store.get(b, "token") == "value-of-b"


async def test_listings_never_hold_values(store: SecretStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    await store.put(tenant, "api-key", "sk-super-secret-value")
    listed = f"{await store.names(tenant)!r} {await store.entries(tenant)!r}"
    assert "api-key" in listed
    assert "sk-super-secret-value" not in listed


@pytest.mark.parametrize("name", ["../escape", "a/b", "Upper", "", "-dash-first", "x" * 64])
async def test_names_that_could_escape_are_refused(
    store: SecretStore, new_tenant: NewTenant, name: str
) -> None:
    tenant = await new_tenant()
    with pytest.raises(InvalidSecret):
        await store.put(tenant, name, "v")
    with pytest.raises(InvalidSecret):
        await store.get(tenant, name)
    with pytest.raises(InvalidSecret):
        await store.delete(tenant, name)


async def test_bad_tenant_ids_and_empty_values_are_refused(
    store: SecretStore, new_tenant: NewTenant
) -> None:
    with pytest.raises(InvalidSecret):
        await store.names("../other")
    with pytest.raises(InvalidSecret):
        await store.get("a/b", "token")
    with pytest.raises(InvalidSecret, match="empty"):
        await store.put(await new_tenant(), "token", "")
