"""Human users: local accounts, rotating refresh tokens, roles per tenant, OpenID Connect.

Against the real API and PostgreSQL; the identity provider is tests/fakes/oidc.py over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.settings import AuthSettings, OidcSettings, Settings
from tests.admin import agent_token, bearer
from tests.conftest import TenantFactory
from tests.fakes.oidc import FakeOidc
from tests.harness import api_server

PASSWORD = "correct horse battery"


def _email() -> str:
    return f"u-{uuid.uuid4().hex[:10]}@example.com"


async def _user(http: httpx.AsyncClient, admin: dict[str, str], tenant: str | None = None,
                role: str | None = None) -> str:
    """A new user with PASSWORD, with ``role`` on ``tenant`` if given; its email."""
    email = _email()
    r = await http.post("/admin/users", headers=admin, json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    if tenant is not None:
        r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                           json={"role": role})
        assert r.status_code == 200, r.text
    return email


async def _login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    r = await http.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


async def _as(http: httpx.AsyncClient, admin: dict[str, str], tenant: str, role: str
              ) -> dict[str, str]:
    """Authorization headers of a fresh user with ``role`` on ``tenant``."""
    return bearer((await _login(http, await _user(http, admin, tenant, role)))["access_token"])


async def test_registration_is_closed_by_default(http: httpx.AsyncClient) -> None:
    r = await http.post("/auth/register", json={"email": _email(), "password": PASSWORD})
    assert r.status_code == 403 and r.json()["error"] == "registration_closed"


async def test_an_invited_user_registers_with_its_invitation(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    email = _email()
    r = await http.post("/admin/users", headers=admin, json={"email": email.upper()})
    assert r.status_code == 201 and r.json()["email"] == email
    invitation = r.json()["invitation"]
    r = await http.post("/auth/register", json={"email": email, "password": PASSWORD,
                                                "invitation": invitation + "x"})
    assert r.status_code == 403 and r.json()["error"] == "invalid_invitation"
    r = await http.post("/auth/register", json={"email": email, "password": PASSWORD,
                                                "invitation": invitation})
    assert r.status_code == 201, r.text
    await _login(http, email)
    r = await http.post("/auth/register", json={"email": email, "password": "another one!",
                                                "invitation": invitation})
    assert r.status_code == 403  # an invitation works once


async def test_open_registration(settings: Settings) -> None:
    open_settings = settings.model_copy(update={"auth": AuthSettings(registration=True)})
    async with api_server(open_settings, run_relay=False) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as http:
        email = _email()
        r = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 409 and r.json()["error"] == "user_exists"
        me = await http.get("/auth/me", headers=bearer((await _login(http, email))["access_token"]))
        assert me.json()["email"] == email and me.json()["roles"] == {}


async def test_login_me_and_wrong_passwords(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    email = await _user(http, admin, tenant, "operator")
    tokens = await _login(http, email.upper())
    assert tokens["expires_in"] == 900 and tokens["token_type"] == "Bearer"
    r = await http.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["email"] == email and r.json()["roles"] == {tenant: "operator"}
    assert not r.json()["super_admin"]
    wrong = await http.post("/auth/login", json={"email": email, "password": "not the password"})
    unknown = await http.post("/auth/login", json={"email": _email(), "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # nothing tells which emails have accounts


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first = await _login(http, await _user(http, admin))
    r = await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await http.get("/auth/me", headers=bearer(second["access_token"]))).status_code == 200
    # The first refresh token again: it was copied, so the whole session ends.
    r = await http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and "already used" in r.json()["detail"]
    r = await http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401
    assert (await http.get("/auth/me", headers=bearer(second["access_token"]))).status_code == 401


async def test_logout_ends_the_session(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    tokens = await _login(http, await _user(http, admin))
    other = await _login(http, (await http.get(
        "/auth/me", headers=bearer(tokens["access_token"]))).json()["email"])
    r = await http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 204
    assert (await http.get("/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    r = await http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    # Another login of the same user is another session, and lives on.
    assert (await http.get("/auth/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_a_viewer_reads_its_tenant_and_nothing_of_another(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    a, b = await make_tenant(agents=("coder",)), await make_tenant(agents=("coder",))
    viewer = await _as(http, admin, a, "viewer")
    r = await http.get(f"/admin/tenants/{a}/events", headers=viewer)
    assert r.status_code == 200, r.text
    assert (await http.get(f"/admin/tenants/{a}/agents", headers=viewer)).status_code == 200
    unknown = await http.get("/admin/tenants/t-nosuchtenant/events", headers=admin)
    for path in ("events", "agents", "members", "secrets", "audit"):
        r = await http.get(f"/admin/tenants/{b}/{path}", headers=viewer)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] == unknown.json()["error"] == "unknown_tenant"
    r = await http.patch(f"/admin/tenants/{a}/agents/coder", headers=viewer,
                         json={"status": "paused"})
    assert r.status_code == 403


async def test_an_operator_pauses_its_agents_and_not_another_tenants(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    a, b = await make_tenant(agents=("coder",)), await make_tenant(agents=("coder",))
    operator = await _as(http, admin, a, "operator")
    r = await http.patch(f"/admin/tenants/{a}/agents/coder", headers=operator,
                         json={"status": "paused"})
    assert r.status_code == 200 and r.json()["status"] == "paused", r.text
    r = await http.patch(f"/admin/tenants/{b}/agents/coder", headers=operator,
                         json={"status": "paused"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_tenant"
    agents = (await http.get(f"/admin/tenants/{b}/agents", headers=admin)).json()
    assert agents[0]["status"] == "active"
    # Pausing is all: no other change, no new agent.
    r = await http.patch(f"/admin/tenants/{a}/agents/coder", headers=operator,
                         json={"status": "active", "name": "renamed"})
    assert r.status_code == 403
    r = await http.post(f"/admin/tenants/{a}/agents", headers=operator,
                        json={"id": "other", "name": "other"})
    assert r.status_code == 403


async def test_members_are_the_owners_and_global_routes_the_super_admins(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    a, b = await make_tenant(), await make_tenant()
    tenant_admin = await _as(http, admin, a, "admin")
    owner = await _as(http, admin, a, "owner")
    newcomer = await _user(http, admin)
    r = await http.put(f"/admin/tenants/{a}/members/{newcomer}", headers=tenant_admin,
                       json={"role": "viewer"})
    assert r.status_code == 403
    r = await http.put(f"/admin/tenants/{a}/members/{newcomer}", headers=owner,
                       json={"role": "viewer"})
    assert r.status_code == 200, r.text
    members = (await http.get(f"/admin/tenants/{a}/members", headers=tenant_admin)).json()
    assert {m["email"]: m["role"] for m in members}[newcomer] == "viewer"
    r = await http.put(f"/admin/tenants/{b}/members/{newcomer}", headers=owner,
                       json={"role": "viewer"})
    assert r.status_code == 404
    r = await http.delete(f"/admin/tenants/{a}/members/{newcomer}", headers=owner)
    assert r.status_code == 204
    r = await http.put(f"/admin/tenants/{a}/quota", headers=owner, json={"plan": "team"})
    assert r.status_code == 403
    for method, path, body in (("GET", "/admin/tenants", None),
                               ("POST", "/admin/users", {"email": _email()}),
                               ("POST", "/admin/kill-switch", {"action": "stop_all"}),
                               ("GET", "/admin/usage", None)):
        r = await http.request(method, path, headers=owner, json=body)
        assert r.status_code == 403, (path, r.text)


async def test_agent_and_user_tokens_do_not_cross(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(agents=("coder",))
    agent = bearer(await agent_token(http, admin, tenant, "coder"))
    r = await http.get(f"/admin/tenants/{tenant}/agents", headers=agent)
    assert r.status_code == 401
    assert (await http.get("/auth/me", headers=agent)).status_code == 401
    user = await _as(http, admin, tenant, "owner")
    assert (await http.get("/gateway/catalog", headers=user)).status_code == 401


@pytest.fixture
async def oidc_api(settings: Settings, make_tenant: TenantFactory
                   ) -> AsyncIterator[tuple[FakeOidc, str, str, str]]:
    """An API trusting the fake provider, whose group ``a-readers`` views tenant A."""
    a, b = await make_tenant(), await make_tenant()
    with FakeOidc() as provider:
        oidc = OidcSettings(issuer=provider.issuer, audience="switchboard",
                            role_map={"a-readers": f"{a}:viewer"})
        async with api_server(settings.model_copy(update={"oidc": oidc}), run_relay=False) as url:
            yield provider, url, a, b


async def test_an_oidc_user_gets_the_roles_of_its_groups(
    oidc_api: tuple[FakeOidc, str, str, str]
) -> None:
    provider, url, a, b = oidc_api
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        token = provider.token("alice", email="Alice@Example.com", groups=("a-readers", "x"))
        r = await http.get(f"/admin/tenants/{a}/events", headers=bearer(token))
        assert r.status_code == 200, r.text
        assert (await http.get(f"/admin/tenants/{b}/events", headers=bearer(token))
                ).status_code == 404
        me = (await http.get("/auth/me", headers=bearer(token))).json()
        assert me["actor"] == "alice@example.com" and me["roles"] == {a: "viewer"}
        assert me["via"] == "oidc"
        no_group = provider.token("bob", groups=("x",))
        r = await http.get(f"/admin/tenants/{a}/events", headers=bearer(no_group))
        assert r.status_code == 404
        for refused in (provider.token("alice", groups=("a-readers",), expires_in=-60),
                        provider.token("alice", groups=("a-readers",), issuer="https://evil"),
                        provider.token("alice", groups=("a-readers",), audience="other"),
                        provider.token("alice", groups=("a-readers",), forged=True)):
            r = await http.get(f"/admin/tenants/{a}/events", headers=bearer(refused))
            assert r.status_code == 401, r.text


async def _cli(config: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    """Run ``switchboard`` in its own process (the API runs on this loop: wait without blocking)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "XDG_CONFIG_HOME": str(config)})
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    return proc.returncode or 0, out.decode()


async def test_the_cli_logs_in_and_keeps_its_tokens(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, tmp_path: Path
) -> None:
    tenant = await make_tenant()
    email = await _user(http, admin, tenant, "viewer")
    api = str(http.base_url).rstrip("/")
    code, out = await _cli(tmp_path, "login", "--email", email, "--api", api, "--password-stdin",
                           stdin="wrong password\n")
    assert code == 1 and "401" in out
    code, out = await _cli(tmp_path, "login", "--email", email, "--api", api, "--password-stdin",
                           stdin=PASSWORD + "\n")
    assert code == 0, out
    stored = tmp_path / "switchboard" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert PASSWORD not in stored.read_text()
    code, out = await _cli(tmp_path, "whoami")
    assert code == 0 and email in out and f"{tenant}: viewer" in out, out
    code, out = await _cli(tmp_path, "logout")
    assert code == 0 and not stored.exists()
