"""The admin secrets API on both backends: write-only, a stored value is never in a response.

The router is mounted on a small app with the real error handlers and admin authentication
(the bootstrap token, or a user token checked by the real users service), and an
``AppState``-like state holding ``secrets``.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.errors import install_error_handlers
from api.routes import admin_secrets
from infra.services import build_keys
from infra.settings import DatabaseSettings, Settings
from infra.users.service import Users
from infra.vault import SecretStore
from tests.fakes.vault_server import FakeVault
from tests.vault.conftest import NewTenant

VALUE = "sk-live-value-that-must-never-come-back"


@dataclass
class _State:
    settings: Settings
    pool: asyncpg.Pool
    secrets: SecretStore
    users: Users


@dataclass
class Api:
    """A client of the app and everything it answered."""

    http: httpx.AsyncClient
    admin: dict[str, str]
    responses: list[httpx.Response]


@pytest.fixture
async def api(store: SecretStore, vault_pool: asyncpg.Pool, pg_url: str) -> AsyncIterator[Api]:
    """The secrets router over the parametrized store (embedded, hashicorp)."""
    token = secrets.token_urlsafe(24)
    settings = Settings(dev_mode=True, admin_token=SecretStr(token),
                        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
                        database=DatabaseSettings(url=pg_url))
    users = Users(vault_pool, build_keys(settings, vault_pool).tokens, settings.auth, settings.oidc)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(admin_secrets.router)
    app.state.switchboard = _State(settings=settings, pool=vault_pool, secrets=store,
                                  users=users)
    responses: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        responses.append(response)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                 event_hooks={"response": [keep]}) as http:
        yield Api(http, {"Authorization": f"Bearer {token}"}, responses)
    for response in responses:
        assert VALUE not in response.text, f"{response.request.url} answered the value"
        assert VALUE not in str(response.headers)


async def test_set_list_replace_delete(api: Api, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    url = f"/admin/tenants/{tenant}/secrets"
    r = await api.http.put(f"{url}/github_token", headers=api.admin, json={"value": VALUE})
    assert (r.status_code, r.content) == (204, b"")
    r = await api.http.put(f"{url}/slack_bot_token", headers=api.admin, json={"value": VALUE})
    assert r.status_code == 204
    r = await api.http.get(url, headers=api.admin)
    assert r.status_code == 200
    assert [(s["name"], set(s)) for s in r.json()] == [
        ("github_token", {"name", "updated_at"}), ("slack_bot_token", {"name", "updated_at"})]
    assert all(s["updated_at"] for s in r.json())
    r = await api.http.put(f"{url}/github_token", headers=api.admin, json={"value": VALUE + "2"})
    assert r.status_code == 204
    r = await api.http.delete(f"{url}/github_token", headers=api.admin)
    assert r.status_code == 204
    r = await api.http.delete(f"{url}/github_token", headers=api.admin)
    assert (r.status_code, r.json()["error"]) == (404, "secret_not_found")
    r = await api.http.get(url, headers=api.admin)
    assert [s["name"] for s in r.json()] == ["slack_bot_token"]


async def test_the_value_is_stored_for_the_gateway(
    api: Api, store: SecretStore, new_tenant: NewTenant
) -> None:
    tenant = await new_tenant()
    r = await api.http.put(f"/admin/tenants/{tenant}/secrets/clickup_token", headers=api.admin,
                           json={"value": VALUE})
    assert r.status_code == 204
    assert await store.get(tenant, "clickup_token") == VALUE


async def test_unknown_tenants_are_404(api: Api) -> None:
    url = "/admin/tenants/no-such-tenant/secrets"
    for r in (await api.http.put(f"{url}/token", headers=api.admin, json={"value": VALUE}),
              await api.http.get(url, headers=api.admin),
              await api.http.delete(f"{url}/token", headers=api.admin)):
        assert (r.status_code, r.json()["error"]) == (404, "unknown_tenant")


async def test_bad_requests_never_echo_the_value(api: Api, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    url = f"/admin/tenants/{tenant}/secrets"
    for name in ("Upper", "-first", "a" * 64, "semi;colon"):
        r = await api.http.put(f"{url}/{name}", headers=api.admin, json={"value": VALUE})
        assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), name
    r = await api.http.put(f"{url}/token", headers=api.admin, json={"value": VALUE * 2000})
    assert r.status_code == 422 and "value" in r.json()["detail"]
    for body in ({"value": ""}, {"secret": VALUE}, {"value": [VALUE]}):
        r = await api.http.put(f"{url}/token", headers=api.admin, json=body)
        assert r.status_code == 422
    r = await api.http.get(url, headers=api.admin)
    assert r.json() == []


async def test_the_admin_token_is_required(api: Api, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    r = await api.http.put(f"/admin/tenants/{tenant}/secrets/token", json={"value": VALUE})
    assert r.status_code == 401
    r = await api.http.get(f"/admin/tenants/{tenant}/secrets",
                           headers={"Authorization": "Bearer not-the-admin-token"})
    assert r.status_code == 401


@pytest.mark.parametrize("store", ["hashicorp"], indirect=True)
async def test_vault_outages_are_503(
    api: Api, fake_vault: FakeVault, new_tenant: NewTenant
) -> None:
    tenant = await new_tenant()
    fake_vault.down = True
    r = await api.http.put(f"/admin/tenants/{tenant}/secrets/token", headers=api.admin,
                           json={"value": VALUE})
    assert (r.status_code, r.json()["error"]) == (503, "vault_unavailable")
    assert r.headers["Retry-After"] == "5"
    fake_vault.down = False
    fake_vault.expire_tokens()
    fake_vault.secret_id = "rotated"
    r = await api.http.get(f"/admin/tenants/{tenant}/secrets", headers=api.admin)
    assert (r.status_code, r.json()["error"]) == (502, "vault_denied")
