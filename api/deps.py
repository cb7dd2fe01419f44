"""Request dependencies: the per-process state and admin authentication."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.agent_channel import AgentChannel
from api.errors import ApiError
from api.providers import ProviderRules
from api.signing_secrets import SigningSecrets
from infra.auth.tokens import AgentPrincipal, TokenError, TokenService
from infra.context import KnowledgeStore
from infra.crypto import Sealer
from infra.gateway.service import Gateway
from infra.inbox.relay import Doorbell
from infra.inbox.writer import InboxWriter
from infra.settings import Settings
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


# Bearer schemes, named so that the OpenAPI document says which token each route takes (and so
# which routes answer 401 and 403); the checks stay ours, for our error shape.
_admin_bearer = HTTPBearer(auto_error=False, scheme_name="AdminToken",
                           description="SWITCHBOARD_ADMIN_TOKEN")
_agent_bearer = HTTPBearer(auto_error=False, scheme_name="AgentToken",
                           description="An agent access token from POST /oauth/token")
BearerCredentials = HTTPAuthorizationCredentials | None


def require_admin(state: AppStateDep,
                  credentials: Annotated[BearerCredentials, Depends(_admin_bearer)]) -> None:
    """Accept only ``Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>``."""
    expected = state.settings.admin_token
    if expected is None:
        raise ApiError(403, "admin_disabled", "SWITCHBOARD_ADMIN_TOKEN is not set on the server")
    if credentials is None:
        raise ApiError(401, "unauthorized", "missing Authorization: Bearer <admin token>")
    if not hmac.compare_digest(credentials.credentials.encode(),
                               expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "the admin token is not valid")


AdminDep = Depends(require_admin)


async def require_agent(
    state: AppStateDep, credentials: Annotated[BearerCredentials, Depends(_agent_bearer)]
) -> AgentPrincipal:
    """The agent a valid access token speaks for; 401 for a missing, bad, expired or revoked one."""
    if credentials is None:
        raise ApiError(401, "unauthorized", "missing Authorization: Bearer <agent access token>")
    try:
        return await state.tokens.verify(credentials.credentials.strip())
    except TokenError as err:
        raise ApiError(401, "unauthorized", str(err)) from None


AgentDep = Annotated[AgentPrincipal, Depends(require_agent)]
