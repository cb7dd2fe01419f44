"""Request dependencies: the per-process state and admin authentication."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from activities.gateway.service import Gateway
from api.agent_channel import AgentChannel
from api.errors import ApiError
from api.providers import ProviderRules
from api.relay import Doorbell
from api.signing_secrets import SigningSecrets
from infra.auth.tokens import AgentPrincipal, TokenError, TokenService
from infra.context import KnowledgeStore
from infra.crypto import Sealer
from infra.settings import Settings
from infra.store.inbox import InboxWriter
from infra.temporal import LazyClient
from infra.vault import SecretStore


@dataclass
class AppState:
    """What every request handler may use; built once in the app's lifespan."""

    settings: Settings
    pool: asyncpg.Pool
    inbox: InboxWriter
    sealer: Sealer
    signing_secrets: SigningSecrets
    providers: dict[str, ProviderRules]
    tokens: TokenService
    secrets: SecretStore
    gateway: Gateway
    doorbell: Doorbell
    temporal: LazyClient
    channel: AgentChannel
    knowledge: KnowledgeStore


async def get_state(request: Request) -> AppState:
    """The process's AppState."""
    state: AppState = request.app.state.switchboard
    return state


AppStateDep = Annotated[AppState, Depends(get_state)]


def require_admin(request: Request, state: AppStateDep) -> None:
    """Accept only ``Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>``."""
    expected = state.settings.admin_token
    if expected is None:
        raise ApiError(403, "admin_disabled", "SWITCHBOARD_ADMIN_TOKEN is not set on the server")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing Authorization: Bearer <admin token>")
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "the admin token is not valid")


AdminDep = Depends(require_admin)


def bearer_token(request: Request) -> str | None:
    """The bearer token of a request, if it carries one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_agent(request: Request, state: AppStateDep) -> AgentPrincipal:
    """The agent a valid access token speaks for; 401 for a missing, bad, expired or revoked one."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "unauthorized", "missing Authorization: Bearer <agent access token>")
    try:
        return await state.tokens.verify(token)
    except TokenError as err:
        raise ApiError(401, "unauthorized", str(err)) from None


AgentDep = Annotated[AgentPrincipal, Depends(require_agent)]
