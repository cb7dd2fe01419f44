"""The embedded backend: values sealed with AES-GCM in PostgreSQL's ``secrets`` table."""

from __future__ import annotations

import asyncpg
from cryptography.exceptions import InvalidTag

from infra.crypto import Sealer, reseal
from infra.vault.base import SecretInfo, check_key, check_tenant, check_value
from infra.vault.errors import SecretUnreadable, UnknownTenant


def secret_context(tenant_id: str, name: str) -> str:
    """The AES-GCM associated data binding a sealed value to its row."""
    return f"secret/{tenant_id}/{name}"


class EmbeddedSecretStore:
    """A :class:`~infra.vault.base.SecretStore` on the platform's own database.

    Each value is sealed under the master key with ``secret/<tenant>/<name>`` as associated
    data, so a ciphertext copied to another tenant's (or name's) row does not open there.
    """

    def __init__(self, pool: asyncpg.Pool, sealer: Sealer) -> None:
        self._pool = pool
        self._sealer = sealer

    async def get(self, tenant_id: str, name: str) -> str | None:
        """The decrypted value, or None if the tenant has no such secret."""
        check_key(tenant_id, name)
        sealed = await self._pool.fetchval(
            "SELECT value_enc FROM secrets WHERE tenant_id = $1 AND name = $2", tenant_id, name
        )
        if sealed is None:
            return None
        try:
            return self._sealer.open(sealed, secret_context(tenant_id, name))
        except InvalidTag:
            raise SecretUnreadable(
                f"secret {name!r} of tenant {tenant_id!r} does not decrypt: it was sealed under "
                "another SWITCHBOARD_MASTER_KEY or for another row"
            ) from None

    async def put(self, tenant_id: str, name: str, value: str) -> None:
        """Seal and store the value, replacing any previous one."""
        check_key(tenant_id, name)
        check_value(value)
        sealed = self._sealer.seal(value, secret_context(tenant_id, name))
        try:
            await self._pool.execute(
                "INSERT INTO secrets (tenant_id, name, value_enc) VALUES ($1, $2, $3)"
                " ON CONFLICT (tenant_id, name)"
                " DO UPDATE SET value_enc = EXCLUDED.value_enc, updated_at = now()",
                tenant_id, name, sealed,
            )
        except asyncpg.ForeignKeyViolationError:
            raise UnknownTenant(f"no tenant {tenant_id!r}") from None

    async def delete(self, tenant_id: str, name: str) -> bool:
        """Remove the secret; False if there was none."""
        check_key(tenant_id, name)
        status = await self._pool.execute(
            "DELETE FROM secrets WHERE tenant_id = $1 AND name = $2", tenant_id, name
        )
        return bool(status != "DELETE 0")

    async def names(self, tenant_id: str) -> list[str]:
        """The tenant's secret names, sorted."""
        return [info.name for info in await self.entries(tenant_id)]

    async def entries(self, tenant_id: str) -> list[SecretInfo]:
        """Names and change times, sorted by name; the sealed values are not even read."""
        check_tenant(tenant_id)
        rows = await self._pool.fetch(
            "SELECT name, updated_at FROM secrets WHERE tenant_id = $1 ORDER BY name", tenant_id
        )
        return [SecretInfo(name=r["name"], updated_at=r["updated_at"]) for r in rows]


async def reseal_secrets(conn: asyncpg.Connection, old: Sealer, new: Sealer) -> int:
    """Seal every embedded vault value again under ``new`` (master-key rotation, in the
    caller's transaction); how many. InvalidTag if one was not sealed by ``old``."""
    rows = await conn.fetch("SELECT tenant_id, name, value_enc FROM secrets FOR UPDATE")
    for row in rows:
        sealed = reseal(old, new, row["value_enc"], secret_context(row["tenant_id"], row["name"]))
        await conn.execute(
            "UPDATE secrets SET value_enc = $3 WHERE tenant_id = $1 AND name = $2",
            row["tenant_id"], row["name"], sealed)
    return len(rows)
