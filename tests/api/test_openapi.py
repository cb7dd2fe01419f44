"""The OpenAPI document tells the truth: the error shape, the statuses, the intents, ``Allow``."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from api.errors import install_error_handlers
from infra.gateway.registry import builtin_intents

ERROR_REF = "#/components/schemas/Error"


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [(method.upper(), path, op) for path, item in spec["paths"].items()
            for method, op in item.items()]


async def test_every_error_status_is_documented_with_the_error_shape(
    http: httpx.AsyncClient
) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"error", "detail"}
    for method, path, op in operations(spec):
        responses = op["responses"]
        assert "422" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if path.startswith(("/admin", "/gateway", "/context")):
            assert {"401", "403"} <= set(responses), (method, path)
        assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
        for status, response in responses.items():  # every error has a documented body
            if status >= "400":
                assert response["content"]["application/json"]["schema"], (method, path, status)
    tenant = spec["paths"]["/admin/tenants/{tenant_id}"]["get"]["responses"]
    for status in ("401", "403", "404", "503"):
        assert tenant[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    token = spec["paths"]["/oauth/token"]["post"]["responses"]
    assert {"400", "401", "503"} <= set(token)
    created = spec["paths"]["/admin/tenants/{tenant_id}/agents"]["post"]["responses"]
    assert "409" in created


async def test_a_documented_422_body_is_what_the_api_answers(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    spec = (await http.get("/openapi.json")).json()
    error = spec["components"]["schemas"]["Error"]
    r = await http.post("/admin/tenants", headers=admin, json={"id": "Bad Id!"})
    assert r.status_code == 422
    assert set(r.json()) == set(error["properties"]) and isinstance(r.json()["detail"], str)


async def test_gateway_intents_are_documented_as_the_registered_ones(
    http: httpx.AsyncClient
) -> None:
    spec = (await http.get("/openapi.json")).json()
    intent = spec["components"]["schemas"]["ExecuteBody"]["properties"]["intent"]
    assert intent["enum"] == sorted(builtin_intents())
    grant = spec["components"]["schemas"]["Grant"]["properties"]["intent"]
    assert grant["enum"] == sorted(builtin_intents())


async def test_405_names_every_method_the_path_allows(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for method, path, allow in (
        ("DELETE", "/admin/tenants/some-tenant", "GET, PATCH"),
        ("DELETE", "/admin/tenants", "GET, POST"),
        ("PUT", "/admin/tenants/t/agents/a/grants", "DELETE, GET, POST"),
        ("DELETE", "/admin/kill-switch", "GET, POST"),
        ("GET", "/oauth/token", "POST"),
    ):
        r = await http.request(method, path, headers=admin)
        assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed"), (method, path)
        assert r.headers["Allow"] == allow, (method, path)


async def test_the_database_going_away_mid_request_is_a_503_with_retry_after() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/lost")
    async def lost() -> None:
        # What asyncpg raises when PostgreSQL shuts down under a running query.
        raise asyncpg.InternalClientError("cannot perform operation: connection is closed")

    @app.get("/shutdown")
    async def shutdown() -> None:
        raise asyncpg.AdminShutdownError("terminating connection due to administrator command")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        for path in ("/lost", "/shutdown"):
            r = await client.get(path)
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "5"
            assert r.json()["error"] == "service_unavailable"
