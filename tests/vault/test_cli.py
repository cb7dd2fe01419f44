"""``switchboard secrets set/list/delete`` against the session database (and the fake Vault)."""

from __future__ import annotations

import asyncio
import base64
import getpass
import io
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from cli.main import main
from infra.crypto import Sealer
from infra.vault import EmbeddedSecretStore, HashiCorpSecretStore
from tests.fakes.vault_server import FakeVault
from tests.vault.conftest import ROOT_TOKEN, NewTenant, vault_settings

VALUE = "xoxb-cli-value-never-printed"
SWITCHBOARD = Path(sys.executable).parent / "switchboard"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pg_url: str, master_key: bytes) -> dict[str, str]:
    """The environment of a production-like CLI run: session database, real key, no dev mode."""
    values = {"DATABASE_URL": pg_url, "SWITCHBOARD_DEV_MODE": "false",
              "SWITCHBOARD_MASTER_KEY": base64.b64encode(master_key).decode(),
              "VAULT_BACKEND": "embedded"}
    for name in ("SWITCHBOARD_ADMIN_TOKEN", "VAULT_ADDR", "VAULT_TOKEN", "VAULT_ROLE_ID",
                 "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


async def run(argv: list[str], stdin: str = "") -> int:
    """``switchboard <argv>`` in-process (in a thread: the CLI runs its own event loop)."""
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        return await asyncio.to_thread(main, argv)
    finally:
        sys.stdin = saved


@pytest.fixture
def embedded(vault_pool: asyncpg.Pool, master_key: bytes) -> EmbeddedSecretStore:
    """The store the CLI writes to, for checking what it stored."""
    return EmbeddedSecretStore(vault_pool, Sealer(master_key))


async def test_set_list_delete(
    env: dict[str, str], embedded: EmbeddedSecretStore, new_tenant: NewTenant,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await new_tenant()
    assert await run(["secrets", "set", "--tenant", tenant, "slack_bot_token"], VALUE + "\n") == 0
    assert await embedded.get(tenant, "slack_bot_token") == VALUE  # the final newline dropped
    pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----"
    assert await run(["secrets", "set", "--tenant", tenant, "app.pem"], pem + "\r\n") == 0
    assert await embedded.get(tenant, "app.pem") == pem
    assert await run(["secrets", "list", "--tenant", tenant]) == 0
    out, err = capsys.readouterr()
    listed = [line.split("\t")[0] for line in out.splitlines() if "\t" in line]
    assert listed == ["app.pem", "slack_bot_token"]
    assert err == ""
    assert await run(["secrets", "delete", "--tenant", tenant, "app.pem"]) == 0
    assert await run(["secrets", "delete", "--tenant", tenant, "app.pem"]) == 1
    assert await embedded.names(tenant) == ["slack_bot_token"]
    out, err = capsys.readouterr()
    assert "has no secret app.pem" in err
    assert VALUE not in out + err and "abc" not in out + err


async def test_a_terminal_gets_a_hidden_prompt(
    env: dict[str, str], embedded: EmbeddedSecretStore, new_tenant: NewTenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await new_tenant()
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def hidden(prompt: str = "") -> str:
        prompts.append(prompt)
        return VALUE

    monkeypatch.setattr(getpass, "getpass", hidden)
    monkeypatch.setattr(sys, "stdin", Terminal("typed-visibly-must-not-be-read"))
    assert await asyncio.to_thread(main, ["secrets", "set", "--tenant", tenant, "tok"]) == 0
    assert prompts == ["value of tok (input hidden): "]
    assert await embedded.get(tenant, "tok") == VALUE


async def test_usage_errors_exit_2_and_failures_exit_1(
    env: dict[str, str], new_tenant: NewTenant, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await new_tenant()
    with pytest.raises(SystemExit) as argv_value:  # there is no way to pass it in argv
        main(["secrets", "set", "--tenant", tenant, "token", VALUE])
    assert argv_value.value.code == 2
    assert await run(["secrets", "set", "--tenant", tenant, "Bad/Name"], VALUE) == 2
    assert await run(["secrets", "set", "--tenant", tenant, "token"], "") == 2
    assert await run(["secrets", "set", "--tenant", "no-such-tenant", "token"], VALUE) == 1
    assert await run(["secrets", "list", "--tenant", "no-such-tenant"]) == 1
    _, err = capsys.readouterr()
    assert "no tenant 'no-such-tenant'" in err
    monkeypatch.delenv("DATABASE_URL")
    assert await run(["secrets", "list", "--tenant", tenant]) == 2
    assert "DATABASE_URL is not set" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "message"), [
    (base64.b64encode(bytes(32)).decode(), "SWITCHBOARD_MASTER_KEY is a placeholder"),
    ("bm90LTMyLWJ5dGVzLW9mLWtleQ==", "SWITCHBOARD_MASTER_KEY must decode to 32 bytes"),
], ids=["all-zero-key", "not-32-bytes"])
async def test_a_placeholder_or_broken_master_key_is_refused(
    env: dict[str, str], new_tenant: NewTenant, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], key: str, message: str,
) -> None:
    tenant = await new_tenant()
    monkeypatch.setenv("SWITCHBOARD_MASTER_KEY", key)
    assert await run(["secrets", "set", "--tenant", tenant, "token"], VALUE) == 2
    err = capsys.readouterr().err
    assert message in err
    assert key not in err


async def test_the_hashicorp_backend(
    env: dict[str, str], fake_vault: FakeVault, new_tenant: NewTenant,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await new_tenant()
    for name, value in {"VAULT_BACKEND": "hashicorp", "VAULT_ADDR": fake_vault.url,
                        "VAULT_TOKEN": ROOT_TOKEN}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SWITCHBOARD_MASTER_KEY")
    assert await run(["secrets", "set", "--tenant", tenant, "github_token"], VALUE) == 0
    assert fake_vault.value(f"switchboard/{tenant}/github_token") == {"value": VALUE}
    assert await run(["secrets", "list", "--tenant", tenant]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("github_token\t20")
    fake_vault.down = True
    assert await run(["secrets", "list", "--tenant", tenant]) == 1
    err = capsys.readouterr().err
    assert "Vault is sealed" in err and ROOT_TOKEN not in err
    fake_vault.down = False
    store = HashiCorpSecretStore(vault_settings(fake_vault))
    assert await store.get(tenant, "github_token") == VALUE


async def test_the_console_script_reads_the_value_from_a_pipe(
    env: dict[str, str], embedded: EmbeddedSecretStore, new_tenant: NewTenant,
) -> None:
    tenant = await new_tenant()
    done = await asyncio.to_thread(
        subprocess.run, [str(SWITCHBOARD), "secrets", "set", "--tenant", tenant, "token"],
        input=VALUE, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert VALUE not in done.stdout + done.stderr
    assert await embedded.get(tenant, "token") == VALUE
