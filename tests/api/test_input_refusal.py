"""Input PostgreSQL cannot store or compare is refused with a 422 before it reaches the database.

Each case here answered 500 before (``CharacterNotInRepertoireError`` for a NUL, ``DataError`` or
``OverflowError`` for an integer past the int64 range).
"""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests.admin import agent_token, bearer
from tests.conftest import TenantFactory

INT64_MAX = 2**63 - 1


def refused(r: httpx.Response, where: str) -> None:
    """A 422 in the API's error shape whose detail names the offending input."""
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == "invalid_request" and where in body["detail"], body


async def test_a_nul_in_the_path_or_the_query_is_refused(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    refused(await http.get("/admin/tenants/t%00x/agents", headers=admin), "path")
    refused(await http.get(f"/admin/tenants/{tenant}/agents/a%00b/grants", headers=admin),
            "path")
    refused(await http.get("/admin/usage", params={"tenant_id": "a\x00b"}, headers=admin),
            "query")
    refused(await http.get(f"/admin/tenants/{tenant}/audit", params={"intent": "\x00"},
                           headers=admin), "query")
    # the same requests without the NUL are fine
    assert (await http.get("/admin/usage", params={"tenant_id": "ab"},
                           headers=admin)).status_code == 200


async def test_a_nul_in_a_body_string_is_refused(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    base = f"/admin/tenants/{tenant}"
    refused(await http.post(f"{base}/agents", headers=admin,
                            json={"id": f"x{agent}", "name": "a\x00b"}), "body.name")
    refused(await http.patch(f"{base}/agents/{agent}", headers=admin,
                             json={"role": "\x00"}), "body.role")
    refused(await http.post("/admin/tenants", headers=admin,
                            json={"id": f"n{tenant}", "name": "n\x00"}), "body.name")
    refused(await http.put(f"{base}/projects/p1", headers=admin,
                           json={"name": "p", "mappings": [{"provider": "github",
                                                            "external_id": "o/r\x00"}]}),
            "body.mappings.0.external_id")
    refused(await http.post(f"{base}/agents/{agent}/grants", headers=admin,
                            json={"intent": "slack_post_message", "resource_pattern": "C\x00"}),
            "body.resource_pattern")
    refused(await http.put(f"{base}/secrets/github_token", headers=admin,
                           json={"value": "ghp_\x00"}), "body.value")
    assert await pool.fetchval("SELECT count(*) FROM agents WHERE tenant_id = $1", tenant) == 1


async def test_ids_past_the_int64_range_are_refused(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    base = f"/admin/tenants/{tenant}"
    refused(await http.get(f"{base}/events", params={"before_id": 2**63}, headers=admin),
            "before_id")
    refused(await http.get(f"{base}/audit", params={"before_id": 2**63}, headers=admin),
            "before_id")
    refused(await http.get(f"{base}/events/{2**63}", headers=admin), "event_id")
    refused(await http.get(f"{base}/events/{10**30}", headers=admin), "event_id")
    r = await http.get(f"{base}/events/{INT64_MAX}", headers=admin)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_event")
    r = await http.get(f"{base}/events", params={"before_id": INT64_MAX}, headers=admin)
    assert (r.status_code, r.json()) == (200, [])


async def test_context_documents_refuse_a_nul_in_names_and_drop_it_from_the_text(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    auth = bearer(await agent_token(http, admin, tenant, agent))
    doc = {"source_key": "notes/nul", "title": "Nul notes", "text": "alpha\x00beta gamma"}
    refused(await http.post("/context/documents", headers=auth,
                            json={**doc, "title": "Nul\x00"}), "body.title")
    refused(await http.post("/context/search", headers=auth, json={"query": "a\x00"}),
            "body.query")
    r = await http.post("/context/documents", headers=auth, json=doc)
    assert r.status_code == 201, r.text
    body = await pool.fetchval("SELECT body FROM context_documents WHERE id = $1",
                               r.json()["id"])
    assert body == "alphabeta gamma"


async def test_the_gateway_refuses_a_nul_or_an_unknown_intent_before_auditing(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    auth = {**bearer(await agent_token(http, admin, tenant, agent)),
            "Idempotency-Key": uuid.uuid4().hex}
    refused(await http.post("/gateway/execute", headers=auth, json={"intent": "x\x00"}),
            "body.intent")
    refused(await http.post("/gateway/execute", headers=auth,
                            json={"intent": "no_such_intent"}), "body.intent")
    refused(await http.post("/gateway/execute", headers=auth,
                            json={"intent": "slack_post_message",
                                  "args": {"channel": "C1", "text": "hi\x00"}}), "body.args")
    assert await pool.fetchval("SELECT count(*) FROM audit WHERE tenant_id = $1",
                               tenant) == 0
