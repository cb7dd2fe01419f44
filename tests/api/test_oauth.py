"""Agent OAuth2: client credentials, signed tokens, JWKS, expiry and revocation."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import asyncpg
import httpx
import jwt

from infra.auth.tokens import TokenError, TokenService
from infra.crypto import Sealer
from infra.settings import Settings
from tests.conftest import TenantFactory


async def credentials(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                      agent: str) -> tuple[str, str]:
    """Issue client credentials for an agent."""
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials", headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["client_id"], r.json()["client_secret"]


async def get_token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    """The client-credentials grant with HTTP Basic client authentication."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})


async def test_client_credentials_grant_issues_a_verifiable_token(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    client_id, secret = await credentials(http, admin, tenant, agent)
    r = await get_token(http, client_id, secret)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert r.headers["cache-control"] == "no-store"
    keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    [jwk] = [k for k in keys if k["kid"] == kid]
    claims = jwt.decode(body["access_token"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"],
                        issuer="switchboard")
    assert (claims["sub"], claims["tenant"], claims["agent"]) == (
        f"{tenant}.{agent}", tenant, agent)
    assert claims["exp"] > time.time() and claims["jti"]
    assert set(claims["scope"].split()) == {"gateway", "agent"}


async def test_bad_client_credentials_are_refused_per_rfc_6749(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    client_id, secret = await credentials(http, admin, tenant, agent)
    r = await get_token(http, client_id, secret + "x")
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = await get_token(http, "no-such-agent", secret)
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = await http.post("/oauth/token", data={"grant_type": "password"})
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": client_id, "client_secret": secret,
                                              "scope": "admin"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")
    # rotating the secret invalidates the old one
    _, rotated = await credentials(http, admin, tenant, agent)
    assert (await get_token(http, client_id, secret)).status_code == 401
    assert (await get_token(http, client_id, rotated)).status_code == 200


async def test_revoked_tokens_are_refused(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    client_id, secret = await credentials(http, admin, tenant, agent)
    one = (await get_token(http, client_id, secret)).json()["access_token"]
    two = (await get_token(http, client_id, secret)).json()["access_token"]
    auth = {"Authorization": f"Bearer {one}"}
    assert (await http.post("/oauth/revoke", headers=auth)).status_code == 200
    r = await http.post("/oauth/revoke", headers=auth)
    assert (r.status_code, r.json()["detail"]) == (401, "token revoked")
    assert (await http.post("/oauth/revoke",
                            headers={"Authorization": f"Bearer {two}"})).status_code == 200
    three = (await get_token(http, client_id, secret)).json()["access_token"]
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/revoke-tokens", headers=admin)
    assert r.status_code == 204
    r = await http.post("/oauth/revoke", headers={"Authorization": f"Bearer {three}"})
    assert (r.status_code, r.json()["detail"]) == (401, "token revoked")
    # A token issued right after revoke-all (most likely in the same second) is good.
    four = (await get_token(http, client_id, secret)).json()["access_token"]
    assert (await http.post("/oauth/revoke",
                            headers={"Authorization": f"Bearer {four}"})).status_code == 200
    r = await http.post("/oauth/revoke", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401 and "invalid token" in r.json()["detail"]


async def test_expired_tokens_are_refused(
    pool: asyncpg.Pool, settings: Settings, make_tenant: TenantFactory
) -> None:
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    short = TokenService(pool, Sealer(settings.master_key_bytes()), ttl_seconds=1)
    token, _ = await short.issue(tenant, agent, ["gateway"])
    assert (await short.verify(token)).agent_id == agent
    await asyncio.sleep(2.1)
    try:
        await short.verify(token)
    except TokenError as err:
        assert str(err) == "token expired"
    else:
        raise AssertionError("an expired token was accepted")


async def test_a_nul_in_the_client_credentials_is_refused_not_a_500(
    http: httpx.AsyncClient
) -> None:
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials",
                                              "client_id": "a\x00b", "client_secret": "x"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    basic = base64.b64encode(b"a\x00b:x").decode()
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
