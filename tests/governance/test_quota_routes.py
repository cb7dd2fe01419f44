"""API quotas over HTTP: agents charged by their tenant; webhooks and the super-admin never.

The real API and platform of the session; each test on fresh tenants (free plan, 20 requests a
minute). Quotas count per fixed minute, so a test that needs its requests inside one minute
starts them early in a minute.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx

from tests import corpus
from tests.admin import agent_token, bearer
from tests.conftest import TenantFactory


async def early_in_a_minute() -> None:
    """Wait, if needed, for a minute with at least 40 s left (requests below take far less)."""
    second = datetime.now(UTC).second
    if second > 20:
        await asyncio.sleep(60.5 - second)


async def test_the_21st_agent_request_of_a_free_tenant_in_a_minute_is_refused(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    agent = f"busy-{uuid.uuid4().hex[:6]}"
    busy = await make_tenant(agents=(agent,))
    calm = await make_tenant(agents=(agent,))  # the same agent id in another tenant
    await early_in_a_minute()
    auth = bearer(await agent_token(http, admin, busy, agent))  # the 1st request
    codes = [(await http.get("/gateway/catalog", headers=auth)).status_code for _ in range(19)]
    assert codes == [200] * 19
    refused = await http.post("/context/search", headers=auth, json={"query": "deploys"})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "quota_exceeded"
    assert "quota 20 a minute" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A new token is an agent request too.
    creds = (await http.post(f"/admin/tenants/{busy}/agents/{agent}/credentials",
                             headers=admin)).json()
    token = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"]})
    assert token.status_code == 429 and token.json()["error"] == "quota_exceeded"

    # Another tenant is not held by it.
    other = bearer(await agent_token(http, admin, calm, agent))
    assert (await http.get("/gateway/catalog", headers=other)).status_code == 200

    # Nor are the super-admin (any number of requests) and the provider's webhooks.
    for _ in range(25):
        assert (await http.get(f"/admin/tenants/{busy}/agents", headers=admin)).status_code == 200
    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    for _ in range(21):
        r = await http.post(f"/webhooks/github/{busy}", content=raw,
                            headers=headers | {"X-GitHub-Delivery": str(uuid.uuid4())})
        assert r.status_code == 202, r.text

    # A bigger plan takes effect at once.
    r = await http.put(f"/admin/tenants/{busy}/quota", headers=admin, json={"plan": "pro"})
    assert r.json() == {"plan": "pro", "requests_per_minute": 60, "custom": False}
    assert (await http.get("/gateway/catalog", headers=auth)).status_code == 200


async def test_a_tenants_quota_is_shown_and_set_through_the_admin_api(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    url = f"/admin/tenants/{tenant}/quota"
    assert (await http.get(url, headers=admin)).json() == {
        "plan": "free", "requests_per_minute": 20, "custom": False}
    r = await http.put(url, headers=admin, json={"plan": "power", "requests_per_minute": 90})
    assert r.json() == {"plan": "power", "requests_per_minute": 90, "custom": True}
    r = await http.put(url, headers=admin, json={"requests_per_minute": None})
    assert r.json() == {"plan": "power", "requests_per_minute": 120, "custom": False}
    bad = await http.put(url, headers=admin, json={"plan": "gold"})
    assert bad.status_code == 422 and bad.json()["error"]
    missing = await http.put("/admin/tenants/no-such/quota", headers=admin, json={"plan": "pro"})
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_tenant"
    assert (await http.get("/admin/tenants/no-such/quota", headers=admin)).status_code == 404


async def _viewer(http: httpx.AsyncClient, admin: dict[str, str], tenant: str
                  ) -> dict[str, str]:
    """Authorization headers of a fresh user who is a viewer of ``tenant``."""
    email, password = f"q-{uuid.uuid4().hex[:10]}@example.com", "quota horse battery"
    r = await http.post("/admin/users", headers=admin, json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                       json={"role": "viewer"})
    assert r.status_code == 200, r.text
    r = await http.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def test_a_users_admin_requests_are_charged_to_the_paths_tenant(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    mine, theirs = await make_tenant(), await make_tenant()
    viewer = await _viewer(http, admin, mine)
    await early_in_a_minute()
    # Asking about a tenant it is no member of is a 404 that spends nothing of that tenant's.
    for _ in range(25):
        r = await http.get(f"/admin/tenants/{theirs}/events", headers=viewer)
        assert r.status_code == 404
    codes = [(await http.get(f"/admin/tenants/{mine}/events", headers=viewer)).status_code
             for _ in range(21)]
    assert codes == [200] * 20 + [429]
    assert (await http.get(f"/admin/tenants/{theirs}/quota", headers=admin)).json()[
        "plan"] == "free"
    other = await _viewer(http, admin, theirs)
    assert (await http.get(f"/admin/tenants/{theirs}/events", headers=other)).status_code == 200
