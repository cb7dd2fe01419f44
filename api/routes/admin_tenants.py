"""Admin: tenants, their integrations (provider signing secrets, write-only) and API quota."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import AdminDep, PoolDep, SealerDep, SigningSecretsDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from infra.directory import agents as agent_dir
from infra.directory import tenants
from infra.governance import Quotas, UnknownTenant
from workflows.contracts import Provider

router = APIRouter(prefix="/admin/tenants", tags=["admin: tenants"], dependencies=[AdminDep])

TENANT_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SlackCommand = Annotated[str, Field(pattern=r"^/[a-z0-9_-]{1,31}$", examples=["/switchboard"])]


class TenantCreate(BaseModel):
    """A new tenant."""

    id: str = Field(pattern=TENANT_ID, description="URL-safe id used in webhook URLs")
    name: Text = Field(min_length=1, max_length=200)
    default_agents: list[Text] = Field(
        default_factory=list, description="Agents that get work no mention or alias claims"
    )


class RetentionWindows(BaseModel):
    """A tenant's own retention windows in days; a kind left out keeps the platform default."""

    model_config = ConfigDict(extra="forbid")

    inbox: int | None = Field(default=None, ge=1, le=3650,
                              description="Delivery bodies and normalized events (the event "
                                          "stays as a tombstone with its status)")
    audit: int | None = Field(default=None, ge=1, le=3650,
                              description="Gateway audit and the activity log")
    usage: int | None = Field(default=None, ge=1, le=3650, description="Usage rows")
    alerts: int | None = Field(default=None, ge=1, le=3650, description="Stored alerts")
    threads: int | None = Field(default=None, ge=1, le=3650,
                                description="Ingested thread messages")


class TenantUpdate(BaseModel):
    """Fields of a tenant to change."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    default_agents: list[Text] | None = None
    admin_channel: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{2,40}$",
        description="Slack channel id where alerts (offline, stuck agents) are posted")
    slack_commands: list[SlackCommand] | None = Field(
        default=None, min_length=1, max_length=20,
        description="The slash commands the tenant's Slack app sends to Switchboard (each once)")
    retention: RetentionWindows | None = Field(
        default=None, description="Replaces the tenant's own retention windows ({}: all defaults)")

    @field_validator("slack_commands")
    @classmethod
    def _distinct(cls, names: list[str] | None) -> list[str] | None:
        if names is not None and len(set(names)) != len(names):
            raise ValueError("each slash command may be named once")
        return names


class Tenant(BaseModel):
    """A tenant as the API shows it."""

    id: str
    name: str
    default_agents: list[str]
    admin_channel: str | None = None
    created_at: datetime
    slack_commands: list[str] = Field(
        description="Slash commands answered at POST /webhooks/slack/{tenant}")
    retention: dict[str, int] = Field(
        default_factory=dict, description="The tenant's own retention windows in days by kind "
                                          "(the others take the platform's defaults)")


class IntegrationSecret(BaseModel):
    """A provider signing secret; stored encrypted and never returned."""

    secret: Text = Field(min_length=1, max_length=4096)


class Integration(BaseModel):
    """A configured provider (the secret itself is never shown)."""

    provider: Provider
    updated_at: datetime


async def _check_defaults(pool: asyncpg.Pool, tenant_id: str, agent_ids: list[str], *,
                          new_tenant: bool) -> None:
    """422 for a default agent the existing tenant does not have.

    A new tenant has no agents yet: agents created right after it may be named beforehand (and
    another tenant's agent of that id is no bar, nor revealed).
    """
    if new_tenant:
        return
    bad = set(agent_ids) - await agent_dir.existing(pool, tenant_id, agent_ids)
    if bad:
        raise ApiError(422, "unknown_agent",
                       f"tenant {tenant_id!r} has no agent {', '.join(sorted(bad))}")


async def _existing(pool: asyncpg.Pool, tenant_id: str) -> None:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")


@router.post("", status_code=201, summary="Create a tenant", responses=error_responses(409))
async def create_tenant(body: TenantCreate, pool: PoolDep) -> Tenant:
    """Create a tenant; 409 if the id is taken."""
    await _check_defaults(pool, body.id, body.default_agents, new_tenant=True)
    row = await tenants.create_tenant(pool, body.id, body.name, body.default_agents)
    if row is None:
        raise ApiError(409, "tenant_exists", f"tenant {body.id!r} already exists")
    return Tenant(**row.model_dump())


@router.get("", summary="List tenants")
async def list_tenants(pool: PoolDep) -> list[Tenant]:
    """All tenants."""
    return [Tenant(**row.model_dump()) for row in await tenants.list_tenants(pool)]


@router.get("/{tenant_id}", summary="Show a tenant")
async def get_tenant(tenant_id: str, pool: PoolDep) -> Tenant:
    """One tenant."""
    row = await tenants.get_tenant(pool, tenant_id)
    if row is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    return Tenant(**row.model_dump())


@router.patch("/{tenant_id}", summary="Rename a tenant, set its default agents, admin channel, "
              "slash commands or retention windows")
async def update_tenant(tenant_id: str, body: TenantUpdate, pool: PoolDep,
                        signing_secrets: SigningSecretsDep) -> Tenant:
    """Change the fields sent; ``"admin_channel": null`` clears the channel.

    422 if a default agent is not one of the tenant's own agents.
    """
    await _existing(pool, tenant_id)
    changes = {k: v for k, v in body.model_dump(include=body.model_fields_set).items()
               if v is not None or k == "admin_channel"}
    if "retention" in changes:
        changes["retention"] = {k: v for k, v in changes["retention"].items() if v is not None}
    if "default_agents" in changes:
        await _check_defaults(pool, tenant_id, changes["default_agents"], new_tenant=False)
    row = await tenants.update_tenant(pool, tenant_id, changes)
    if row is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    if "slack_commands" in changes:  # the webhook door caches them with the signing secrets
        signing_secrets.invalidate(tenant_id)
    return Tenant(**row.model_dump())


@router.put(
    "/{tenant_id}/integrations/{provider}", status_code=204,
    summary="Set a provider's webhook signing secret",
)
async def set_integration(
    tenant_id: str, provider: Provider, body: IntegrationSecret, pool: PoolDep,
    sealer: SealerDep, signing_secrets: SigningSecretsDep,
) -> Response:
    """Store the secret encrypted; it can be replaced or deleted, never read back."""
    await _existing(pool, tenant_id)
    await tenants.set_integration_secret(
        pool, sealer, tenant_id, provider.value, body.secret
    )
    signing_secrets.invalidate(tenant_id, provider.value)
    return Response(status_code=204)


@router.delete(
    "/{tenant_id}/integrations/{provider}", status_code=204, summary="Remove a provider's secret"
)
async def delete_integration(tenant_id: str, provider: Provider, pool: PoolDep,
                             signing_secrets: SigningSecretsDep) -> Response:
    """Webhooks from this provider are refused (404) afterwards."""
    if not await tenants.delete_integration(pool, tenant_id, provider.value):
        raise ApiError(404, "integration_not_configured", f"no {provider.value} secret to delete")
    signing_secrets.invalidate(tenant_id, provider.value)
    return Response(status_code=204)


@router.get("/{tenant_id}/integrations", summary="List configured providers")
async def list_integrations(tenant_id: str, pool: PoolDep) -> list[Integration]:
    """Which providers have a secret (never the secret)."""
    await _existing(pool, tenant_id)
    return [Integration(provider=Provider(r.provider), updated_at=r.updated_at)
            for r in await tenants.list_integrations(pool, tenant_id)]


Plan = Literal["free", "pro", "power", "team"]


class QuotaBody(BaseModel):
    """A tenant's plan and own rate (omitted fields keep their value)."""

    plan: Plan | None = Field(
        default=None, description="free, pro, power, team: 20, 60, 120, 200 requests a minute")
    requests_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000,
        description="The tenant's own quota instead of its plan's; null returns to the plan's")


class QuotaView(BaseModel):
    """The API quota in force for a tenant."""

    plan: Plan
    requests_per_minute: int = Field(description="Requests a minute on the agent- and "
                                                 "user-facing routes (webhooks are not counted)")
    custom: bool = Field(description="The rate is the tenant's own, not its plan's")


@router.get("/{tenant_id}/quota", summary="A tenant's API quota")
async def get_quota(tenant_id: str, pool: PoolDep) -> QuotaView:
    """The tenant's plan (``free`` until set) and its requests a minute."""
    await _existing(pool, tenant_id)
    return QuotaView(**asdict(await Quotas(pool).get(tenant_id)))


@router.put("/{tenant_id}/quota", summary="Set a tenant's plan or its own API quota")
async def set_quota(tenant_id: str, body: QuotaBody, pool: PoolDep) -> QuotaView:
    """Takes effect on the next request, in every API process."""
    try:
        quota = await Quotas(pool).set(
            tenant_id, body.plan, requests_per_minute=body.requests_per_minute,
            keep_rate="requests_per_minute" not in body.model_fields_set)
    except UnknownTenant:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}") from None
    return QuotaView(**asdict(quota))
