"""Admin: gateway grants (default deny) and circuit-breaker limits (the audit: admin_audit)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep
from api.errors import ApiError
from api.inputs import IntentName, Text
from infra.approvals.rules import ApprovalRule
from infra.directory import agents as agent_dir
from infra.gateway import store as gateway
from infra.gateway.registry import builtin_intents
from infra.gateway.reply import REPLY
from infra.governance import CircuitBreaker, UnknownTenant

router = APIRouter(prefix="/admin/tenants", tags=["admin: gateway"], dependencies=[AdminDep])


class Grant(BaseModel):
    """An agent may run ``intent`` on resources matching ``resource_pattern`` (``acme/*``)."""

    intent: IntentName
    resource_pattern: Text = Field(min_length=1, max_length=300,
                                   description="Shell-style pattern over repo, channel or list")
    approval: ApprovalRule | None = Field(
        default=None, description="Each call needs a person's approval first (README, Approvals)")


class GrantView(BaseModel):
    """A grant as stored (its intent may since have left the registry)."""

    intent: str
    resource_pattern: str
    approval: ApprovalRule | None = Field(
        default=None, description="Each call needs a person's approval first (README, Approvals)")


async def _require_agent(pool: asyncpg.Pool, tenant_id: str, agent_id: str) -> None:
    agents = {a.id for a in await agent_dir.list_agents(pool, tenant_id)}
    if agent_id not in agents:
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")


@router.post("/{tenant_id}/agents/{agent_id}/grants", status_code=201, summary="Grant an intent")
async def add_grant(tenant_id: str, agent_id: str, body: Grant, pool: PoolDep) -> Grant:
    """Allow the agent the intent on matching resources; unknown intents are refused (422)."""
    await _require_agent(pool, tenant_id, agent_id)
    await gateway.add_grant(pool, tenant_id, agent_id, body.intent, body.resource_pattern,
                            body.approval.model_dump() if body.approval else None)
    return body


@router.get("/{tenant_id}/agents/{agent_id}/grants", summary="List an agent's grants")
async def list_grants(tenant_id: str, agent_id: str, pool: PoolDep) -> list[GrantView]:
    """Every grant the agent holds."""
    await _require_agent(pool, tenant_id, agent_id)
    held = await gateway.grant_patterns(pool, tenant_id, agent_id)
    rules = await gateway.approval_rules(pool, tenant_id, agent_id)
    return [GrantView(intent=i, resource_pattern=p,
                      approval=ApprovalRule.model_validate(rules[(i, p)])
                      if (i, p) in rules else None)
            for i, patterns in held.items() for p in patterns]


@router.delete("/{tenant_id}/agents/{agent_id}/grants", status_code=204,
               summary="Withdraw a grant")
async def delete_grant(tenant_id: str, agent_id: str, intent: str, resource_pattern: str,
                       pool: PoolDep) -> Response:
    """The agent is refused this intent on those resources from now on."""
    if not await gateway.delete_grant(pool, tenant_id, agent_id, intent,
                                      resource_pattern):
        raise ApiError(404, "unknown_grant", "no such grant")
    return Response(status_code=204)


# Intents a tenant may give a rate of their own: those that write. ``reply`` is counted as the
# intent it becomes (slack_reply, github_comment, clickup_comment), so it is limited through them.
_WRITES = frozenset(n for n, i in builtin_intents().items() if i.writes and n != REPLY)
PerMinute = Annotated[int, Field(ge=1, le=10000)]


class LimitsBody(BaseModel):
    """A tenant's circuit-breaker limits (omitted fields keep their value)."""

    messages_per_minute: int | None = Field(
        default=None, ge=1, le=10000,
        description="Writes per agent per minute, every kind together (messages, comments, "
                    "issues, tasks, pushes)")
    sync_events_per_hour: int | None = Field(default=None, ge=1, le=1000000)
    duplicate_window_seconds: int | None = Field(default=None, ge=1, le=3600)
    intents: dict[IntentName, PerMinute] | None = Field(
        default=None, description="A lower rate per agent per minute for some intents, e.g. "
                                  '{"github_create_issue": 5}; replaces the map ({} clears it)')


class LimitsView(BaseModel):
    """The limits in force for a tenant."""

    messages_per_minute: int
    sync_events_per_hour: int
    duplicate_window_seconds: int
    intents: dict[str, int] = Field(description="Intents held to a rate of their own")


@router.get("/{tenant_id}/limits", summary="A tenant's circuit-breaker limits")
async def get_limits(tenant_id: str, pool: PoolDep) -> LimitsView:
    """Writes per minute per agent (and per intent), sync events per hour per project,
    duplicate window."""
    limits = await CircuitBreaker(pool).get_limits(tenant_id)
    return LimitsView(**dataclasses.asdict(limits))


@router.put("/{tenant_id}/limits", summary="Change a tenant's circuit-breaker limits")
async def set_limits(tenant_id: str, body: LimitsBody, pool: PoolDep) -> LimitsView:
    """Takes effect on the next call, in every gateway worker.

    422 for a per-intent rate on an intent that does not write, or on ``reply``.
    """
    unlimited = sorted(set(body.intents or {}) - _WRITES)
    if unlimited:
        raise ApiError(422, "invalid_intent", (
            f"{', '.join(unlimited)} cannot have a rate of its own: only writing intents "
            f"({', '.join(sorted(_WRITES))}); a reply counts as the intent it becomes"))
    try:
        limits = await CircuitBreaker(pool).set_limits(
            tenant_id, **body.model_dump(exclude_none=True))
    except UnknownTenant:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}") from None
    return LimitsView(**dataclasses.asdict(limits))
