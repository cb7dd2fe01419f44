"""``switchboard secrets rotate-master-key`` on a database of its own (it reseals every row)."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from cli.main import main
from infra import database
from infra.auth.tokens import TokenService
from infra.crypto import Sealer
from infra.directory import tenants
from infra.vault import EmbeddedSecretStore, SecretUnreadable
from tests.harness import migrated_database

VALUE = "ghp_gateway-credential-under-the-master-key"
WEBHOOK = "whsec-provider-signing-secret"
CLAIMS = {"sub": "ana@example.com", "aud": "switchboard:user", "exp": 4_000_000_000}


@pytest.fixture
async def own_db(pg_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A fresh migrated database: the session's holds the running API's signing key."""
    url = await migrated_database(pg_url, f"rekey_{uuid.uuid4().hex[:8]}")
    pool = await database.create_pool(url, min_size=1, max_size=2)
    yield url, pool
    await pool.close()


async def rotate(monkeypatch: pytest.MonkeyPatch, url: str, current: bytes, new: str) -> int:
    """``switchboard secrets rotate-master-key`` with ``new`` on stdin."""
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SWITCHBOARD_DEV_MODE", "false")
    monkeypatch.setenv("SWITCHBOARD_MASTER_KEY", base64.b64encode(current).decode())
    saved, sys.stdin = sys.stdin, io.StringIO(new + "\n")
    try:
        return await asyncio.to_thread(main, ["secrets", "rotate-master-key"])
    finally:
        sys.stdin = saved


async def test_every_sealed_value_moves_to_the_new_key(
    own_db: tuple[str, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, pool = own_db
    old, new = os.urandom(32), os.urandom(32)
    tenant = f"r-{uuid.uuid4().hex[:8]}"
    assert await tenants.create_tenant(pool, tenant, tenant, []) is not None
    await tenants.set_integration_secret(pool, Sealer(old), tenant, "github", WEBHOOK)
    await EmbeddedSecretStore(pool, Sealer(old)).put(tenant, "github_token", VALUE)
    issued = await TokenService(pool, Sealer(old), 3600).sign(CLAIMS)

    assert await rotate(monkeypatch, url, old, base64.b64encode(new).decode()) == 0
    out = capsys.readouterr()
    assert "resealed 1 signing secrets, 1 vault secrets and 1 token signing keys" in out.out
    assert VALUE not in out.out + out.err and WEBHOOK not in out.out + out.err

    assert await tenants.lookup_signing_secret(pool, Sealer(new), tenant, "github") == (
        True, WEBHOOK)
    assert await EmbeddedSecretStore(pool, Sealer(new)).get(tenant, "github_token") == VALUE
    # The same signing key, now under the new master key: tokens already issued stay valid.
    assert await TokenService(pool, Sealer(new), 3600).sign(CLAIMS) == issued
    with pytest.raises(SecretUnreadable):
        await EmbeddedSecretStore(pool, Sealer(old)).get(tenant, "github_token")
    with pytest.raises(InvalidTag):
        await tenants.lookup_signing_secret(pool, Sealer(old), tenant, "github")


async def test_a_wrong_current_key_or_a_bad_new_one_changes_nothing(
    own_db: tuple[str, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, pool = own_db
    key = os.urandom(32)
    tenant = f"r-{uuid.uuid4().hex[:8]}"
    assert await tenants.create_tenant(pool, tenant, tenant, []) is not None
    await tenants.set_integration_secret(pool, Sealer(key), tenant, "slack", WEBHOOK)
    await EmbeddedSecretStore(pool, Sealer(key)).put(tenant, "slack_bot_token", VALUE)

    fresh = base64.b64encode(os.urandom(32)).decode()
    assert await rotate(monkeypatch, url, os.urandom(32), fresh) == 1
    assert "nothing was changed" in capsys.readouterr().err
    for bad in ("not base64!", base64.b64encode(b"short").decode(),
                base64.b64encode(key).decode(), base64.b64encode(bytes(32)).decode()):
        assert await rotate(monkeypatch, url, key, bad) == 2
        assert "refusing the new key" in capsys.readouterr().err
    assert await EmbeddedSecretStore(pool, Sealer(key)).get(tenant, "slack_bot_token") == VALUE
    assert await tenants.lookup_signing_secret(pool, Sealer(key), tenant, "slack") == (
        True, WEBHOOK)
