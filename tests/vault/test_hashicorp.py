"""The HashiCorp backend through the real hvac client: layout, auth, re-login, clear errors."""

from __future__ import annotations

import asyncio

import hvac
import pytest
from pydantic import SecretStr

from infra.settings import VaultSettings
from infra.vault import (
    HashiCorpSecretStore,
    SecretStoreConfigError,
    SecretUnreadable,
    VaultDenied,
    VaultUnavailable,
)
from tests.fakes.vault_server import FakeVault
from tests.harness import free_port
from tests.vault.conftest import ROLE_ID, ROOT_TOKEN, SECRET_ID, vault_settings


def _logins(fake: FakeVault) -> int:
    return sum(r.path == "/v1/auth/approle/login" for r in fake.requests)


async def test_kv_v2_layout_under_mount_and_prefix() -> None:
    with FakeVault(mount="kv", root_token=ROOT_TOKEN) as fake:
        store = HashiCorpSecretStore(vault_settings(fake, path_prefix="/sb/prod/"))
        await store.put("acme", "github_token", "ghp_1")
        assert fake.value("sb/prod/acme/github_token") == {"value": "ghp_1"}
        assert {(r.method, r.path) for r in fake.requests} == {
            ("POST", "/v1/kv/data/sb/prod/acme/github_token")}
        assert all(r.token_sent for r in fake.requests)


async def test_token_auth_sends_the_token_and_never_logs_in(fake_vault: FakeVault) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault))
    await store.put("acme", "token", "v")
    assert await store.get("acme", "token") == "v"
    assert _logins(fake_vault) == 0


async def test_approle_logs_in_once_and_reuses_the_token(fake_vault: FakeVault) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault, approle=True))
    await asyncio.gather(*(store.put("acme", f"s{i}", "v") for i in range(5)))
    assert await store.names("acme") == [f"s{i}" for i in range(5)]
    assert (fake_vault.logins, _logins(fake_vault)) == (1, 1)


async def test_an_expired_approle_token_is_renewed_by_one_login(fake_vault: FakeVault) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault, approle=True))
    await store.put("acme", "token", "v1")
    fake_vault.expire_tokens()
    assert await store.get("acme", "token") == "v1"
    assert fake_vault.logins == 2


async def test_short_lived_tokens_are_renewed_as_they_expire() -> None:
    with FakeVault(role_id=ROLE_ID, secret_id=SECRET_ID, token_ttl=0.3) as fake:
        store = HashiCorpSecretStore(vault_settings(fake, approle=True))
        await store.put("acme", "token", "v1")
        await asyncio.sleep(0.5)
        assert await store.get("acme", "token") == "v1"
        assert fake.logins == 2
        denied = [r for r in fake.requests if r.path.startswith("/v1/secret/")]
        assert len(denied) == 3  # put, the refused get, the get after the fresh login


async def test_a_refused_relogin_is_not_retried_and_names_no_secret(
    fake_vault: FakeVault,
) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault, approle=True))
    await store.put("acme", "token", "v1")
    fake_vault.expire_tokens()
    fake_vault.secret_id = "rotated-elsewhere"
    with pytest.raises(VaultDenied, match="VAULT_ROLE_ID and VAULT_SECRET_ID") as err:
        await store.get("acme", "token")
    assert _logins(fake_vault) == 2  # the first login and exactly one more
    assert SECRET_ID not in str(err.value)


@pytest.mark.parametrize("echo", [False, True], ids=["plain", "vault-quotes-the-token"])
async def test_a_wrong_token_is_a_clear_error_without_the_token(
    fake_vault: FakeVault, echo: bool
) -> None:
    wrong = "hvs.wrong-token-that-must-not-leak"
    fake_vault.echo_token = echo
    store = HashiCorpSecretStore(vault_settings(fake_vault, token=SecretStr(wrong)))
    with pytest.raises(VaultDenied, match="denied VAULT_TOKEN") as err:
        await store.get("acme", "token")
    text = f"{err.value!s} {err.value!r} {err.value.__cause__!r}"
    assert wrong not in text
    assert "permission denied" in text
    assert fake_vault.logins == 0


async def test_vault_failures_are_unavailable_errors(fake_vault: FakeVault) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault))
    fake_vault.down = True
    with pytest.raises(VaultUnavailable, match="Vault is sealed") as err:
        await store.put("acme", "token", "value-not-in-errors")
    assert ROOT_TOKEN not in str(err.value) and "value-not-in-errors" not in str(err.value)
    gone = VaultSettings(backend="hashicorp", addr=f"http://127.0.0.1:{free_port()}",
                         token=SecretStr(ROOT_TOKEN), timeout_seconds=2.0)
    with pytest.raises(VaultUnavailable, match="cannot reach Vault") as err:
        await HashiCorpSecretStore(gone).names("acme")
    assert ROOT_TOKEN not in str(err.value)


async def test_what_other_tools_left_in_vault(fake_vault: FakeVault) -> None:
    store = HashiCorpSecretStore(vault_settings(fake_vault))
    kv = hvac.Client(url=fake_vault.url, token=ROOT_TOKEN).secrets.kv.v2
    kv.create_or_update_secret(path="switchboard/acme/nested/deeper", secret={"value": "x"})
    kv.create_or_update_secret(path="switchboard/acme/no-value", secret={"password": "x"})
    kv.create_or_update_secret(path="switchboard/acme/soft", secret={"value": "x"})
    kv.delete_latest_version_of_secret(path="switchboard/acme/soft")
    assert await store.names("acme") == ["no-value", "soft"]  # the sub-folder is not a secret
    assert await store.get("acme", "soft") is None  # soft-deleted: no live version
    with pytest.raises(SecretUnreadable, match="'value'"):
        await store.get("acme", "no-value")
    assert await store.delete("acme", "soft") is True  # destroys the metadata as well
    assert await store.names("acme") == ["no-value"]


async def test_the_fake_serves_list_as_hvac_sends_it_either_way(fake_vault: FakeVault) -> None:
    await HashiCorpSecretStore(vault_settings(fake_vault)).put("acme", "token", "v")
    for strict in (False, True):
        client = hvac.Client(url=fake_vault.url, token=ROOT_TOKEN, strict_http=strict)
        keys = client.secrets.kv.v2.list_secrets(path="switchboard/acme")["data"]["keys"]
        assert keys == ["token"]
    listed = [(r.method, r.query) for r in fake_vault.requests if "metadata" in r.path]
    assert listed == [("LIST", {}), ("GET", {"list": ["true"]})]


@pytest.mark.parametrize(("fields", "message"), [
    ({"addr": None}, "needs VAULT_ADDR"),
    ({"token": None}, "needs VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID"),
    ({"token": None, "role_id": ROLE_ID}, "must be set together"),
])
def test_unusable_settings_are_configuration_errors(
    fields: dict[str, object], message: str
) -> None:
    base: dict[str, object] = {"backend": "hashicorp", "addr": "http://127.0.0.1:8200",
                               "token": SecretStr(ROOT_TOKEN), "role_id": None,
                               "secret_id": None}
    with pytest.raises(SecretStoreConfigError, match=message) as err:
        HashiCorpSecretStore(VaultSettings(**(base | fields)))  # type: ignore[arg-type]
    assert ROOT_TOKEN not in str(err.value)
