"""The admin API: authentication, tenants, write-only secrets, agents, aliases."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests import corpus
from tests.conftest import TenantFactory


async def test_admin_routes_need_the_admin_token(http: httpx.AsyncClient) -> None:
    r = await http.get("/admin/tenants")
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")
    r = await http.get("/admin/tenants", headers={"Authorization": "Bearer wrong-token-value"})
    assert r.status_code == 401


async def test_tenant_lifecycle_and_conflicts(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant = f"acme-{uuid.uuid4().hex[:6]}"
    r = await http.post("/admin/tenants", headers=admin, json={"id": tenant, "name": "Acme"})
    assert r.status_code == 201
    r = await http.post("/admin/tenants", headers=admin, json={"id": tenant, "name": "Acme"})
    assert (r.status_code, r.json()["error"]) == (409, "tenant_exists")
    r = await http.post("/admin/tenants", headers=admin, json={"id": "Bad Id!", "name": "x"})
    assert r.status_code == 422 and "id" in r.json()["detail"]
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin, json={"name": "Acme Inc"})
    assert r.json()["name"] == "Acme Inc"


async def test_signing_secrets_are_encrypted_and_never_returned(
    http: httpx.AsyncClient, admin: dict[str, str], pool: asyncpg.Pool,
    make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    r = await http.get(f"/admin/tenants/{tenant}/integrations", headers=admin)
    assert [i["provider"] for i in r.json()] == ["clickup", "github", "slack"]
    assert corpus.secret("github") not in r.text
    stored = await pool.fetchval(
        "SELECT secret_enc FROM integrations WHERE tenant_id = $1 AND provider = 'github'", tenant)
    assert corpus.secret("github").encode() not in stored


async def test_aliases_validate_members_and_refuse_cycles(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(agents=("a1", "a2"))
    base = f"/admin/tenants/{tenant}/aliases"
    assert (await http.put(f"{base}/Core", headers=admin,
                           json={"members": ["a1"]})).status_code == 200
    r = await http.put(f"{base}/AI_Squad", headers=admin, json={"members": ["@Core", "a2"]})
    assert r.json() == {"name": "AI_Squad", "members": ["@Core", "a2"]}
    r = await http.put(f"{base}/Core", headers=admin, json={"members": ["@AI_Squad"]})
    assert (r.status_code, r.json()["error"]) == (422, "alias_cycle")
    r = await http.put(f"{base}/Other", headers=admin, json={"members": ["ghost"]})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_member")
    names = [a["name"] for a in (await http.get(base, headers=admin)).json()]
    assert names == ["AI_Squad", "Core"]


async def test_agent_ids_are_per_tenant_and_status_changes(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    other = await make_tenant()
    r = await http.post(f"/admin/tenants/{other}/agents", headers=admin,
                        json={"id": agent, "name": "dup"})
    assert (r.status_code, r.json()["name"]) == (201, "dup")  # its own agent of that id
    r = await http.post(f"/admin/tenants/{other}/agents", headers=admin,
                        json={"id": agent, "name": "again"})
    assert (r.status_code, r.json()["error"]) == (409, "agent_exists")
    r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                         json={"status": "paused"})
    assert r.json()["status"] == "paused"
    [theirs] = (await http.get(f"/admin/tenants/{other}/agents", headers=admin)).json()
    assert (theirs["name"], theirs["status"]) == ("dup", "active")
    r = await http.patch(f"/admin/tenants/{other}/agents/never-{agent}", headers=admin,
                         json={"status": "active"})
    assert r.status_code == 404
