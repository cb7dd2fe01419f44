"""Who did what: admin writes, refusals, token issue and revocation, the kill switch, recorded."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import httpx
from temporalio.client import Client

from tests.admin import bearer
from tests.conftest import TenantFactory
from workflows.contracts import StopAll
from workflows.ids import CONTROL_WORKFLOW_ID


async def activity(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                   **params: str) -> list[dict[str, Any]]:
    """The tenant's activity rows (log=admin), newest first."""
    r = await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                       params={"log": "admin", **params})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_an_admin_edit_and_a_pause_are_recorded_with_actor_role_target_and_outcome(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(agents=("coder",))
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin, json={"name": "Acme"})
    assert r.status_code == 200, r.text
    r = await http.patch(f"/admin/tenants/{tenant}/agents/coder", headers=admin,
                         json={"status": "paused"})
    assert r.status_code == 200, r.text

    [edit] = await activity(http, admin, tenant, action="tenant.update")
    assert (edit["actor"], edit["role"], edit["tenant_id"], edit["target"], edit["outcome"]) == (
        "bootstrap-admin", "super-admin", tenant, tenant, "ok")
    assert edit["log"] == "admin" and edit["detail"]["name"] == "Acme"
    [pause] = await activity(http, admin, tenant, action="agent.pause")
    assert (pause["actor"], pause["target"], pause["outcome"]) == ("bootstrap-admin", "coder",
                                                                   "ok")
    # the setup's writes are there too, newest first: the agent and the integrations
    actions = [row["action"] for row in await activity(http, admin, tenant)]
    assert actions[:2] == ["agent.pause", "tenant.update"]
    assert "agent.create" in actions and actions.count("integration.set") == 3


async def test_a_refused_request_is_recorded_as_refused_without_the_token_it_carried(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    forged = f"forged-{uuid.uuid4().hex}"
    r = await http.get(f"/admin/tenants/{tenant}/events", headers=bearer(forged))
    assert r.status_code == 401
    r = await http.patch(f"/admin/tenants/{tenant}", headers=bearer(forged), json={"name": "x"})
    assert r.status_code == 401

    rows = await activity(http, admin, tenant, outcome="refused")
    assert [(row["action"], row["actor"], row["outcome"]) for row in rows] == [
        ("tenant.update", "anonymous", "refused:401"), ("event.read", "anonymous", "refused:401")]
    assert rows[0]["detail"]["error"] == "unauthorized"
    assert await activity(http, admin, tenant, outcome="refused:403") == []
    assert forged not in json.dumps(rows)


async def test_token_issue_refusal_and_revocation_are_recorded(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(agents=("coder",))
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/coder/credentials",
                             headers=admin)).json()
    wrong = base64.b64encode(f"{creds['client_id']}:not-the-secret".encode()).decode()
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {wrong}"})
    assert r.status_code == 401
    r = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"]})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert (await http.post("/oauth/revoke", headers=bearer(token))).status_code == 200
    assert (await http.get("/gateway/catalog", headers=bearer(token))).status_code == 401

    # the revoked token no longer names a tenant: its refusal is a global row
    rows = await activity(http, admin, tenant)
    seen = [(row["action"], row["actor"], row["role"], row["outcome"]) for row in rows[:3]]
    assert seen == [
        ("oauth.revoke", f"agent:{tenant}/coder", "agent", "ok"),
        ("oauth.token", f"agent:{tenant}/coder", "agent", "ok"),
        ("oauth.token", "anonymous", None, "refused:401"),
    ]
    assert rows[1]["target"] == creds["client_id"] and rows[1]["agent_id"] == "coder"
    assert rows[2]["detail"]["error"] == "invalid_client"
    assert rows[3]["action"] == "agent.credentials"
    text = json.dumps(rows)
    assert token not in text and creds["client_secret"] not in text


async def test_a_secret_value_never_reaches_the_audit(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    value = f"ghp_{uuid.uuid4().hex}"
    r = await http.put(f"/admin/tenants/{tenant}/secrets/github_token", headers=admin,
                       json={"value": value})
    assert r.status_code == 204, r.text
    [row] = await activity(http, admin, tenant, action="secret.set")
    assert (row["target"], row["outcome"]) == ("github_token", "ok")
    for path, params in ((f"/admin/tenants/{tenant}/audit", {"log": "all"}),
                         ("/admin/audit", {"limit": "1000"})):
        assert value not in (await http.get(path, headers=admin, params=params)).text


async def test_another_tenants_rows_never_appear(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    a = await make_tenant(agents=("coder",))
    b = await make_tenant(agents=("coder",))
    for tenant in (a, b):
        r = await http.patch(f"/admin/tenants/{tenant}/agents/coder", headers=admin,
                             json={"status": "paused"})
        assert r.status_code == 200
    r = await http.get(f"/admin/tenants/{b}/events", headers=bearer("wrong"))
    assert r.status_code == 401

    rows = await activity(http, admin, a, log="all", limit="1000")
    assert rows and {row["tenant_id"] for row in rows} == {a}
    assert b not in json.dumps(rows)
    assert len(await activity(http, admin, a, action="agent.pause")) == 1


async def test_tenant_creation_and_the_kill_switch_are_in_the_global_audit(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    tenant = await make_tenant()
    reason = f"audit test {uuid.uuid4().hex[:6]}"
    from_ui = f"audit ui {uuid.uuid4().hex[:6]}"
    try:
        r = await http.post("/admin/kill-switch", headers=admin,
                            json={"action": "stop_all", "reason": reason})
        assert r.status_code == 200, r.text
        stop = r.json()
        # From the Temporal UI: signalled to the control workflow, which applies it.
        await temporal_client.get_workflow_handle(CONTROL_WORKFLOW_ID).signal(
            "stop_all", StopAll(reason=from_ui))
        async with asyncio.timeout(10):
            while (await http.get("/admin/kill-switch", headers=admin)).json()["reason"] != from_ui:
                await asyncio.sleep(0.05)
    finally:
        await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
        async with asyncio.timeout(10):
            while (await http.get("/admin/kill-switch", headers=admin)).json()["stopped"]:
                await asyncio.sleep(0.1)

    r = await http.get("/admin/audit", headers=admin, params={"global_only": "true"})
    assert r.status_code == 200, r.text
    rows = r.json()
    assert {row["tenant_id"] for row in rows} == {None}
    [created] = [row for row in rows if row["action"] == "tenant.create"
                 and row["target"] == tenant]
    assert (created["actor"], created["outcome"]) == ("bootstrap-admin", "ok")
    stops = [row for row in rows if row["action"] == "kill_switch.stop_all"
             and row["detail"].get("reason") == reason]
    assert [(s["actor"], s["outcome"]) for s in stops] == [("bootstrap-admin", "ok")]
    # the API applies it itself: the POST's row is its record, no second one
    assert not [row for row in rows if row["action"] == "kill_switch.applied"
                and row["detail"].get("reason") == reason]
    # the stop signalled from the Temporal UI, as the control workflow applied it
    applied = [row for row in rows if row["action"] == "kill_switch.applied"
               and row["detail"].get("reason") == from_ui]
    assert [(row["actor"], row["detail"]["stopped"]) for row in applied] == [
        ("control-workflow", True)]
    assert applied[0]["detail"]["version"] == stop["version"] + 1
    # a tenant's own view does not show them
    assert await activity(http, admin, tenant, action="kill_switch.stop_all") == []


async def test_one_view_of_both_logs_and_the_gateway_view_as_before(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant(agents=("coder",))
    assert (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json() == []
    both = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                           params={"log": "all"})).json()
    assert both and {row["log"] for row in both} == {"admin"}
    r = await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                       params={"log": "all", "before_id": "5"})
    assert (r.status_code, r.json()["error"]) == (422, "invalid_request")
    first = both[-1]["created_at"]
    older = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                            params={"log": "all", "before": first})).json()
    assert older == []


async def test_what_users_do_by_their_roles_is_in_the_audit(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    a = await make_tenant(agents=("coder",))
    b = await make_tenant(agents=("coder",))
    password = f"pw-{uuid.uuid4().hex}"
    tokens: dict[str, dict[str, Any]] = {}
    for role in ("viewer", "operator"):
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        r = await http.post("/admin/users", headers=admin,
                            json={"email": email, "password": password})
        assert r.status_code == 201, r.text
        r = await http.put(f"/admin/tenants/{a}/members/{email}", headers=admin,
                           json={"role": role})
        assert r.status_code == 200, r.text
        r = await http.post("/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        tokens[role] = {"email": email, **r.json()}
    viewer, operator = tokens["viewer"], tokens["operator"]

    assert (await http.get(f"/admin/tenants/{a}/events",
                           headers=bearer(viewer["access_token"]))).status_code == 200
    assert (await http.get(f"/admin/tenants/{b}/events",
                           headers=bearer(viewer["access_token"]))).status_code == 404
    r = await http.patch(f"/admin/tenants/{a}/agents/coder",
                         headers=bearer(viewer["access_token"]), json={"status": "paused"})
    assert r.status_code == 403
    for tenant, status in ((a, 200), (b, 404)):
        r = await http.patch(f"/admin/tenants/{tenant}/agents/coder",
                             headers=bearer(operator["access_token"]), json={"status": "paused"})
        assert r.status_code == status, r.text
    spent = operator["refresh_token"]
    assert (await http.post("/auth/refresh", json={"refresh_token": spent})).status_code == 200
    assert (await http.post("/auth/refresh", json={"refresh_token": spent})).status_code == 401

    rows = await activity(http, admin, a)
    by = {(row["actor"], row["role"], row["action"], row["outcome"]) for row in rows}
    assert {(viewer["email"], "viewer", "agent.pause", "refused:403"),
            (operator["email"], "operator", "agent.pause", "ok")} <= by
    # the refusals on B name A's users: they are the super-admin's to see, never B's
    assert not [row for row in await activity(http, admin, b, limit="1000")
                if row["actor"] in (viewer["email"], operator["email"])]
    r = await http.get("/admin/audit", headers=admin,
                       params={"global_only": "true", "limit": "1000"})
    found = {(row["actor"], row["action"], row["outcome"], row["detail"].get("path"))
             for row in r.json()}
    assert {(viewer["email"], "event.read", "refused:404", f"/admin/tenants/{b}/events"),
            (operator["email"], "agent.pause", "refused:404",
             f"/admin/tenants/{b}/agents/coder")} <= found
    logins = {row["actor"] for row in r.json() if row["action"] == "auth.login"}
    assert {viewer["email"], operator["email"]} <= logins
    [reuse] = [row for row in r.json() if row["action"] == "auth.refresh_reuse"][:1]
    assert reuse["outcome"] == "refused:401" and "revoked" in reuse["detail"]["reason"]
    assert spent not in r.text and password not in r.text


async def test_a_refused_write_carrying_a_nul_is_still_recorded(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    r = await http.post("/admin/tenants", headers=admin, json={"id": tenant, "name": "a\x00b"})
    assert r.status_code == 422
    r = await http.get("/admin/audit", headers=admin,
                       params={"action": "tenant.create", "outcome": "refused:422"})
    [row] = [row for row in r.json() if row["target"] == tenant]
    assert (row["actor"], row["detail"]["name"]) == ("bootstrap-admin", "a\ufffdb")


async def test_times_are_rfc3339_date_times_only(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    for bad in ("0.5", "1700000000", "2026-01-31", "2026-01-31T12:00:00"):
        r = await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                           params={"log": "all", "since": bad})
        assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), bad
        assert "since" in r.json()["detail"]
    r = await http.get(f"/admin/tenants/{tenant}/audit", headers=admin,
                       params={"log": "all", "since": "2000-01-01T00:00:00+01:00"})
    assert r.status_code == 200, r.text
    assert [row["action"] for row in r.json()] == ["integration.set"] * 3  # creation is global
