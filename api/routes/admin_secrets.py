"""Admin: a tenant's gateway credentials, write-only (a stored value is never returned)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep, SecretsDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from infra.directory import tenants
from infra.vault import (
    MAX_VALUE_CHARS,
    SECRET_NAME,
    UnknownTenant,
    VaultDenied,
    VaultUnavailable,
)

router = APIRouter(prefix="/admin/tenants", tags=["admin: secrets"], dependencies=[AdminDep],
                   responses=error_responses(502))

SecretName = Annotated[str, Path(pattern=SECRET_NAME, description="e.g. github_token")]


class SecretValue(BaseModel):
    """A credential for the tool gateway; stored encrypted and never returned."""

    value: Text = Field(min_length=1, max_length=MAX_VALUE_CHARS)


class Secret(BaseModel):
    """A stored secret as the API shows it: its name and when it last changed, no value."""

    name: str
    updated_at: datetime | None


async def _existing(pool: asyncpg.Pool, tenant_id: str) -> None:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")


@contextlib.contextmanager
def _vault_errors(tenant_id: str) -> Iterator[None]:
    """Answer the store's failures as API errors (their messages never hold values)."""
    try:
        yield
    except UnknownTenant:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}") from None
    except VaultUnavailable as exc:
        raise ApiError(503, "vault_unavailable", str(exc)) from None
    except VaultDenied as exc:
        raise ApiError(502, "vault_denied", str(exc)) from None


@router.put("/{tenant_id}/secrets/{name}", status_code=204, summary="Set a gateway secret")
async def put_secret(
    tenant_id: str, name: SecretName, body: SecretValue, pool: PoolDep, secrets: SecretsDep
) -> Response:
    """Create or replace the secret; it can be replaced or deleted, never read back."""
    await _existing(pool, tenant_id)
    with _vault_errors(tenant_id):
        await secrets.put(tenant_id, name, body.value)
    return Response(status_code=204)


@router.get("/{tenant_id}/secrets", summary="List a tenant's gateway secrets")
async def list_secrets(tenant_id: str, pool: PoolDep, secrets: SecretsDep) -> list[Secret]:
    """Names and change times (never the values)."""
    await _existing(pool, tenant_id)
    with _vault_errors(tenant_id):
        entries = await secrets.entries(tenant_id)
    return [Secret(name=e.name, updated_at=e.updated_at) for e in entries]


@router.delete("/{tenant_id}/secrets/{name}", status_code=204, summary="Delete a gateway secret")
async def delete_secret(tenant_id: str, name: SecretName, pool: PoolDep, secrets: SecretsDep
                        ) -> Response:
    """Remove the secret; 404 if the tenant has no secret by that name."""
    await _existing(pool, tenant_id)
    with _vault_errors(tenant_id):
        deleted = await secrets.delete(tenant_id, name)
    if not deleted:
        raise ApiError(404, "secret_not_found", f"tenant {tenant_id!r} has no secret {name!r}")
    return Response(status_code=204)
