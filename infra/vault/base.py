"""The secret store contract shared by both backends, and the names it accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from infra.vault.errors import InvalidSecret

SECRET_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
TENANT_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_VALUE_CHARS = 65536  # room for a PEM private key or a service-account JSON, not for files

_SECRET_NAME = re.compile(SECRET_NAME)
_TENANT_ID = re.compile(TENANT_ID)


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a stored secret: its name and when it last changed."""

    name: str
    updated_at: datetime | None


class SecretStore(Protocol):
    """Per-tenant credentials; a tenant only ever reaches its own secrets.

    Only :meth:`get` returns a value, and only the gateway calls it; listings show names.
    """

    async def get(self, tenant_id: str, name: str) -> str | None:
        """The value of a tenant's secret, or None if it is not set."""
        ...

    async def put(self, tenant_id: str, name: str, value: str) -> None:
        """Create or replace a tenant's secret."""
        ...

    async def delete(self, tenant_id: str, name: str) -> bool:
        """Remove a tenant's secret; False if there was none."""
        ...

    async def names(self, tenant_id: str) -> list[str]:
        """The names of a tenant's secrets, sorted (never the values)."""
        ...

    async def entries(self, tenant_id: str) -> list[SecretInfo]:
        """Names and change times of a tenant's secrets, sorted by name (never the values)."""
        ...


def check_key(tenant_id: str, name: str) -> None:
    """Refuse ids and names that could escape their tenant's folder (``..``, ``/``, etc.)."""
    check_tenant(tenant_id)
    if not _SECRET_NAME.fullmatch(name):
        raise InvalidSecret(f"secret name {name!r} does not match {SECRET_NAME}")


def check_tenant(tenant_id: str) -> None:
    """Refuse a tenant id outside the tenants table's pattern."""
    if not _TENANT_ID.fullmatch(tenant_id):
        raise InvalidSecret(f"tenant id {tenant_id!r} does not match {TENANT_ID}")


def check_value(value: str) -> None:
    """Refuse an empty or oversized value (without quoting it)."""
    if not value:
        raise InvalidSecret("a secret value cannot be empty")
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidSecret(f"a secret value is limited to {MAX_VALUE_CHARS} characters")
