"""Admin tenants: default agents stay inside their tenant; the admin channel can be cleared."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TenantFactory


def _agent() -> str:
    return f"agent-{uuid.uuid4().hex[:8]}"


async def test_patch_refuses_another_tenants_agent_as_a_default_agent(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    mine, theirs = _agent(), _agent()
    tenant = await make_tenant(agents=(mine,), default_agents=(mine,))
    await make_tenant(agents=(theirs,))

    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"default_agents": [mine, theirs]})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_agent"), r.text
    assert theirs in r.json()["detail"]
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"default_agents": ["never-created"]})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_agent"), r.text
    shown = (await http.get(f"/admin/tenants/{tenant}", headers=admin)).json()
    assert shown["default_agents"] == [mine]  # nothing half-written

    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin, json={"default_agents": []})
    assert (r.status_code, r.json()["default_agents"]) == (200, [])


async def test_create_names_its_own_future_agent_even_if_another_tenant_has_one(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    """Agent ids are per tenant: a default ``theirs`` is this tenant's own, never the other's."""
    theirs = _agent()
    await make_tenant(agents=(theirs,))
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    r = await http.post("/admin/tenants", headers=admin,
                        json={"id": tenant, "name": tenant, "default_agents": [theirs]})
    assert r.status_code == 201, r.text  # a refusal would tell it that another tenant has one
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"default_agents": [theirs]})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_agent"), r.text
    r = await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                        json={"id": theirs, "name": theirs})
    assert r.status_code == 201, r.text
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"default_agents": [theirs]})
    assert (r.status_code, r.json()["default_agents"]) == (200, [theirs]), r.text


async def test_admin_channel_is_cleared_by_null_and_kept_when_absent(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    url = f"/admin/tenants/{tenant}"
    r = await http.patch(url, headers=admin, json={"admin_channel": "C0ALERTS"})
    assert r.json()["admin_channel"] == "C0ALERTS"
    r = await http.patch(url, headers=admin, json={"name": "Renamed"})
    assert (r.json()["name"], r.json()["admin_channel"]) == ("Renamed", "C0ALERTS")
    r = await http.patch(url, headers=admin, json={"admin_channel": None})
    assert (r.status_code, r.json()["admin_channel"]) == (200, None), r.text
    assert (await http.get(url, headers=admin)).json()["admin_channel"] is None
