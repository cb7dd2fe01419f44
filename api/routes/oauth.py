"""OAuth2 for agents: the client-credentials grant (RFC 6749 4.4), JWKS, revocation (RFC 7009)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import AgentDep, PoolDep, TokensDep, charge_quota
from api.openapi import error_responses
from infra.auth.tokens import AgentPaused
from infra.governance import kill_switch

router = APIRouter(tags=["oauth"])

SCOPES = ("gateway", "agent")


class TokenIssued(BaseModel):
    """An access token (RFC 6749 5.1)."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str


class OAuthError(BaseModel):
    """A refusal of the token endpoint, in RFC 6749 5.2's shape (not the API's own)."""

    error: str = Field(description="invalid_request, invalid_client, unauthorized_client, "
                                   "unsupported_grant_type, invalid_scope or "
                                   "temporarily_unavailable")
    error_description: str


def _oauth_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    texts = {400: "Malformed request, unsupported grant type, unknown scope, or the agent is"
                  " paused (unauthorized_client)",
             401: "Unknown client or wrong secret",
             503: "The kill switch is on: no tokens are issued"}
    return {s: {"model": OAuthError, "description": texts[s]} for s in statuses}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic", "Cache-Control": "no-store"} if status == 401 else {
        "Cache-Control": "no-store"}
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers=headers)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return client_id, secret
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


@router.post(
    "/oauth/token", summary="Get an agent access token (client-credentials grant)",
    response_model=TokenIssued, responses={**_oauth_errors(400, 401, 503), **error_responses(429)},
    openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"}, "client_secret": {"type": "string"},
            "scope": {"type": "string"}}, "required": ["grant_type"]}}}}},
)
async def token(request: Request, pool: PoolDep, tokens: TokensDep) -> JSONResponse:
    """Exchange an agent's client id (``<tenant>.<agent id>``) and secret for a signed JWT."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    if any("\x00" in text for pair in form.items() for text in pair):
        return _oauth_error(400, "invalid_request", "a NUL character is not allowed")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    stopped, reason = await kill_switch.is_stopped(pool)
    if stopped:
        return _oauth_error(503, "temporarily_unavailable",
                            f"the kill switch is on ({reason}); no tokens are issued")
    creds = _client_credentials(request, form)
    if creds is None:
        return _oauth_error(401, "invalid_client", "client authentication is required")
    if "\x00" in creds[0]:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    try:
        client = await tokens.authenticate(*creds)
    except AgentPaused as paused:  # authenticated, but not allowed a token (RFC 6749 5.2)
        return _oauth_error(400, "unauthorized_client", str(paused))
    if client is None:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    await charge_quota(pool, client[0])
    requested = form.get("scope", " ".join(SCOPES)).split()
    if unknown := [s for s in requested if s not in SCOPES]:
        return _oauth_error(400, "invalid_scope", f"unknown scope {' '.join(unknown)}")
    access, ttl = await tokens.issue(*client, requested)
    return JSONResponse(
        {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
         "scope": " ".join(requested)},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/jwks.json", summary="Public keys that sign agent tokens")
async def jwks(tokens: TokensDep) -> dict[str, Any]:
    """JWKS (RFC 7517) for verifying agent tokens."""
    return await tokens.jwks()


@router.post("/oauth/revoke", status_code=200, summary="Revoke the calling agent's token",
             response_class=Response, responses={200: {"description": "Revoked (no body)"}})
async def revoke(request: Request, agent: AgentDep, tokens: TokensDep) -> Response:
    """Revoke the presented token (RFC 7009: answered 200 whatever its state)."""
    await tokens.revoke(agent)
    return Response(status_code=200)
