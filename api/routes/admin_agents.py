"""Admin: agents and aliases (``@AI_Squad`` -> agents)."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt

from api.deps import AdminDep, PoolDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from infra.auth.tokens import client_id, new_client_secret
from infra.directory import agents as agent_dir
from infra.directory import aliases as alias_dir
from infra.directory import tenants
from infra.directory.aliases import AliasCycleError, check_acyclic

router = APIRouter(prefix="/admin/tenants", tags=["admin: agents"], dependencies=[AdminDep])

AGENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
ALIAS_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_ALIAS_RE = re.compile(ALIAS_NAME)


class AgentProfileFields(BaseModel):
    """An agent's profile: who it is, who owns it, how long its work may wait."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    role: Text | None = Field(default=None, max_length=500)
    avatar_url: Text | None = Field(default=None, max_length=2000)
    owner: Text | None = Field(default=None, max_length=200, description="Who answers for it")
    max_turns: int | None = Field(default=None, ge=1, le=100, description="Turns per run")
    queue_expiry_seconds: int | None = Field(
        default=None, ge=1, le=2592000,
        description="How long work waits for this agent's worker before it expires (alerted)",
    )
    # Strict: "0", 1.0 or "yes" are refused (422), as the schema says, not coerced.
    sessions: StrictBool | None = Field(default=None, description=(
        "Whether the agent carries a conversation per thread (false: each event a fresh run)"))
    session_policy: Literal["enqueue", "interrupt", "reject"] | None = Field(
        default=None, description="A message arriving mid-turn of a session: enqueue (the next"
        " turn), interrupt (restart the think with both), reject (the sender hears it is busy)")
    session_debounce_ms: StrictInt | None = Field(
        default=None, ge=0, le=600000, description="A burst within this window is one turn")
    session_max_wait_ms: StrictInt | None = Field(
        default=None, ge=0, le=3600000, description="The longest a burst holds its turn back")
    session_idle_seconds: StrictInt | None = Field(
        default=None, ge=1, le=31536000, description="Idle time that closes a session (7 days)")
    session_summary_every: StrictInt | None = Field(
        default=None, ge=0, le=10000, description=(
            "A long session leaves an episodic summary in the agent's memory every this many"
            " turns (0: only when it closes)"))


class AgentCreate(AgentProfileFields):
    """A new agent; its worker polls task queue ``agent.<id>``."""

    id: str = Field(pattern=AGENT_ID)
    name: Text = Field(min_length=1, max_length=200)


class AgentChange(AgentProfileFields):
    """Profile fields to change; ``status`` paused or offline takes the agent out of routing."""

    status: Literal["active", "paused", "offline"] | None = None


class Agent(BaseModel):
    """An agent as the API shows it."""

    id: str
    tenant_id: str
    name: str
    role: str
    status: str
    max_turns: int
    avatar_url: str | None
    owner: str | None
    queue_expiry_seconds: int
    created_at: datetime
    sessions: bool
    session_policy: str
    session_debounce_ms: int
    session_max_wait_ms: int
    session_idle_seconds: int
    session_summary_every: int


class AliasBody(BaseModel):
    """Members are agent ids, or ``@name`` for a nested alias."""

    members: list[Text] = Field(min_length=1, max_length=500)


class Alias(BaseModel):
    """An alias as the API shows it."""

    name: str
    members: list[str]


async def _require_tenant(pool: asyncpg.Pool, tenant_id: str) -> None:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")


@router.post("/{tenant_id}/agents", status_code=201, summary="Create an agent",
             responses=error_responses(409))
async def create_agent(tenant_id: str, body: AgentCreate, pool: PoolDep) -> Agent:
    """Register an agent; 409 if this tenant has one with that id (another tenant's is no bar)."""
    await _require_tenant(pool, tenant_id)
    row = await agent_dir.create_agent(
        pool, tenant_id, body.id, body.name,
        **body.model_dump(exclude={"id", "name"}, exclude_none=True),
    )
    if row is None:
        raise ApiError(409, "agent_exists", f"agent {body.id!r} already exists")
    return Agent(**asdict(row))


@router.get("/{tenant_id}/agents", summary="List agents")
async def list_agents(tenant_id: str, pool: PoolDep) -> list[Agent]:
    """A tenant's agents."""
    await _require_tenant(pool, tenant_id)
    return [Agent(**asdict(r)) for r in await agent_dir.list_agents(pool, tenant_id)]


@router.patch("/{tenant_id}/agents/{agent_id}", summary="Edit, pause or resume an agent")
async def update_agent(
    tenant_id: str, agent_id: str, body: AgentChange, pool: PoolDep
) -> Agent:
    """Change the fields given; paused and offline agents are left out of routing."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    row = await agent_dir.update_agent(pool, tenant_id, agent_id, changes)
    if row is None:
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")
    return Agent(**asdict(row))


@router.put("/{tenant_id}/aliases/{name}", summary="Create or replace an alias")
async def put_alias(tenant_id: str, name: str, body: AliasBody, pool: PoolDep) -> Alias:
    """Members must be this tenant's agents or existing aliases; cycles are refused."""
    await _require_tenant(pool, tenant_id)
    if not _ALIAS_RE.fullmatch(name):
        raise ApiError(422, "invalid_alias", f"alias name {name!r} must match {ALIAS_NAME}")
    agents = {a.id for a in await agent_dir.list_agents(pool, tenant_id)}
    aliases = {a.name: a.members for a in await alias_dir.list_aliases(pool, tenant_id)}
    known_aliases = {n.lower() for n in aliases}
    for member in body.members:
        if member.startswith("@"):
            if member[1:].lower() not in known_aliases and member[1:].lower() != name.lower():
                raise ApiError(422, "unknown_member", f"no alias {member[1:]!r}")
        elif member not in agents:
            raise ApiError(422, "unknown_member", f"tenant has no agent {member!r}")
    aliases = {n: m for n, m in aliases.items() if n.lower() != name.lower()}
    aliases[name] = body.members
    try:
        check_acyclic(aliases)
    except AliasCycleError as exc:
        raise ApiError(422, "alias_cycle", f"alias would contain itself: {exc}") from None
    return Alias(**asdict(await alias_dir.put_alias(pool, tenant_id, name, body.members)))


@router.get("/{tenant_id}/aliases", summary="List aliases")
async def list_aliases(tenant_id: str, pool: PoolDep) -> list[Alias]:
    """A tenant's aliases."""
    await _require_tenant(pool, tenant_id)
    return [Alias(**asdict(r)) for r in await alias_dir.list_aliases(pool, tenant_id)]



class ClientCredentials(BaseModel):
    """An agent's OAuth2 client credentials; the secret is shown once and stored only hashed."""

    client_id: str
    client_secret: str
    token_url: str = "/oauth/token"


@router.post(
    "/{tenant_id}/agents/{agent_id}/credentials", status_code=201,
    summary="Issue (or rotate) an agent's OAuth2 client secret",
)
async def issue_credentials(tenant_id: str, agent_id: str, pool: PoolDep
                            ) -> ClientCredentials:
    """A new client secret replaces the old one; tokens already issued stay valid until revoked."""
    secret, digest = new_client_secret()
    if not await agent_dir.set_client_secret_hash(pool, tenant_id, agent_id, digest):
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")
    return ClientCredentials(client_id=client_id(tenant_id, agent_id), client_secret=secret)


@router.post(
    "/{tenant_id}/agents/{agent_id}/revoke-tokens", status_code=204,
    summary="Revoke every access token an agent holds",
)
async def revoke_tokens(tenant_id: str, agent_id: str, pool: PoolDep) -> Response:
    """Tokens issued before now are refused from now on."""
    if not await agent_dir.revoke_tokens(pool, tenant_id, agent_id):
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")
    return Response(status_code=204)
