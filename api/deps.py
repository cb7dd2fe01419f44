"""Request dependencies: narrow doors into the per-process state, and admin authentication.

Routes take only what they use (``PoolDep``, ``GatewayDep``, ...); the state they are read from
is built once in the app's lifespan (api/app.py) from infra/services.py's composition root.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.agent_channel import AgentChannel
from api.authz import required_role
from api.errors import ApiError
from api.providers import ProviderRules
from api.signing_secrets import SigningSecrets
from infra.auth.tokens import AgentPaused, AgentPrincipal, TokenError, TokenService
from infra.context import KnowledgeStore
from infra.crypto import Sealer
from infra.gateway.service import Gateway
from infra.governance.quotas import Quotas
from infra.inbox.relay import Doorbell
from infra.inbox.writer import InboxWriter
from infra.settings import Settings
from infra.temporal import LazyClient
from infra.users.roles import Principal, bootstrap
from infra.users.service import AuthError, Users
from infra.vault import SecretStore


@dataclass(frozen=True)
class AppState:
    """The API process's services (infra/services.py) and its own doors; read through the deps."""

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
    users: Users


async def get_state(request: HTTPConnection) -> AppState:
    """The process's AppState (the webhook door reads it directly: its hot path skips Depends)."""
    state: AppState = request.app.state.switchboard
    return state


_StateDep = Annotated[AppState, Depends(get_state)]


async def _settings(state: _StateDep) -> Settings:
    return state.settings


async def _pool(state: _StateDep) -> asyncpg.Pool:
    return state.pool


async def _sealer(state: _StateDep) -> Sealer:
    return state.sealer


async def _signing_secrets(state: _StateDep) -> SigningSecrets:
    return state.signing_secrets


async def _tokens(state: _StateDep) -> TokenService:
    return state.tokens


async def _secrets(state: _StateDep) -> SecretStore:
    return state.secrets


async def _gateway(state: _StateDep) -> Gateway:
    return state.gateway


async def _temporal(state: _StateDep) -> LazyClient:
    return state.temporal


async def _channel(state: _StateDep) -> AgentChannel:
    return state.channel


async def _knowledge(state: _StateDep) -> KnowledgeStore:
    return state.knowledge


async def _users(state: _StateDep) -> Users:
    return state.users


SettingsDep = Annotated[Settings, Depends(_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
SealerDep = Annotated[Sealer, Depends(_sealer)]
SigningSecretsDep = Annotated[SigningSecrets, Depends(_signing_secrets)]
TokensDep = Annotated[TokenService, Depends(_tokens)]
SecretsDep = Annotated[SecretStore, Depends(_secrets)]
GatewayDep = Annotated[Gateway, Depends(_gateway)]
TemporalDep = Annotated[LazyClient, Depends(_temporal)]
ChannelDep = Annotated[AgentChannel, Depends(_channel)]
KnowledgeDep = Annotated[KnowledgeStore, Depends(_knowledge)]
UsersDep = Annotated[Users, Depends(_users)]


# Bearer schemes, named so that the OpenAPI document says which token each route takes (and so
# which routes answer 401 and 403); the checks stay ours, for our error shape.
_admin_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminToken",
    description="SWITCHBOARD_ADMIN_TOKEN (the bootstrap super-admin), a user access token from "
                "POST /auth/login, or an access token of the configured OpenID Connect provider")
_agent_bearer = HTTPBearer(auto_error=False, scheme_name="AgentToken",
                           description="An agent access token from POST /oauth/token")
BearerCredentials = HTTPAuthorizationCredentials | None


async def authenticate(
    request: Request, settings: SettingsDep, state: _StateDep,
    credentials: Annotated[BearerCredentials, Depends(_admin_bearer)],
) -> Principal:
    """Who calls: the bootstrap super-admin or a user (401 otherwise); kept on request.state.

    The users service is looked up only for a token that is not the bootstrap one.
    """
    if credentials is None:
        raise ApiError(401, "unauthorized",
                       "missing Authorization: Bearer <admin token or user access token>")
    token = credentials.credentials.strip()
    expected = settings.admin_token
    if expected is not None and hmac.compare_digest(token.encode(),
                                                     expected.get_secret_value().encode()):
        principal = bootstrap()
    else:
        try:
            principal = await state.users.principal(token)
        except AuthError as err:
            raise ApiError(401, "unauthorized", err.detail) from None
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def charge_quota(pool: asyncpg.Pool, tenant_id: str) -> None:
    """Count one request against the tenant's API quota; 429 ``quota_exceeded`` past it.

    Charged once authenticated, so that nobody can spend another tenant's quota: agents by their
    tenant in ``require_agent`` (and ``/oauth/token`` once the client is known), users by the
    path's tenant in ``require_admin`` once they are its members. Webhooks and the bootstrap
    super-admin (the static admin token) are never charged.
    """
    verdict = await Quotas(pool).admit(tenant_id)
    if not verdict.allowed:
        raise ApiError(429, "quota_exceeded", verdict.detail,
                       retry_after=verdict.retry_after_seconds)


async def require_admin(request: Request, principal: PrincipalDep, pool: PoolDep) -> Principal:
    """The caller, if its role on the path's tenant allows the request (api/authz.py).

    No role on that tenant answers exactly as an unknown tenant does (404), never revealing it;
    a role too low for the request answers 403. A user's requests are charged to the path's
    tenant's API quota (429 past it); the bootstrap super-admin's never are.
    """
    if principal.is_bootstrap:
        return principal
    tenant_id = request.path_params.get("tenant_id")
    if tenant_id is None:
        raise ApiError(403, "forbidden", "only the bootstrap super-admin may do this")
    role = principal.role_on(tenant_id)
    if role is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    await charge_quota(pool, tenant_id)
    principal = replace(principal, role=role.value)
    request.state.principal = principal
    needed = required_role(request.method, getattr(request.scope.get("route"), "path", ""),
                           await _json_body(request))
    if needed is None:
        raise ApiError(403, "forbidden", "only the bootstrap super-admin may do this")
    if not role.allows(needed):
        raise ApiError(403, "forbidden", f"this needs the {needed.value} role on {tenant_id!r}"
                                         f" (yours: {role.value})")
    return principal


async def _json_body(request: Request) -> object:
    """The request's JSON body (already read and parsed by FastAPI for routes that take one)."""
    if request.method not in ("PATCH", "PUT", "POST"):
        return None
    try:
        return await request.json()
    except ValueError:
        return None


AdminDep = Depends(require_admin)
"""The admin API's door: the bootstrap super-admin (every tenant, and no API quota, see
``charge_quota``), or a user whose role on the path's tenant allows the request."""


async def require_agent(
    tokens: TokensDep, pool: PoolDep,
    credentials: Annotated[BearerCredentials, Depends(_agent_bearer)],
) -> AgentPrincipal:
    """The agent a valid access token speaks for; 401 for a missing, bad, expired or revoked one,
    403 ``agent_paused`` while its agent is paused.

    Each request is charged to the agent's tenant's API quota (429 past it).
    """
    if credentials is None:
        raise ApiError(401, "unauthorized", "missing Authorization: Bearer <agent access token>")
    try:
        agent = await tokens.verify(credentials.credentials.strip())
    except AgentPaused as paused:
        raise ApiError(403, "agent_paused", str(paused)) from None
    except TokenError as err:
        raise ApiError(401, "unauthorized", str(err)) from None
    await charge_quota(pool, agent.tenant_id)
    return agent


AgentDep = Annotated[AgentPrincipal, Depends(require_agent)]
