"""A short-lived in-process cache of tenants' webhook signing secrets (and Slack commands).

Every webhook needs its tenant's secret; reading and decrypting it per request would double the
database work on the hot path. Entries live ``ttl`` seconds, so a secret changed through another
API process takes effect within that time (at once in the process that changed it). A tenant's
Slack slash command names, read by every slash command, are cached the same way.
"""

from __future__ import annotations

import time

import asyncpg
from cryptography.exceptions import InvalidTag

from api.errors import ApiError
from infra.crypto import Sealer
from infra.directory import tenants


class SigningSecrets:
    """Looks up (tenant, provider) secrets, caching the ones that exist."""

    def __init__(self, pool: asyncpg.Pool, sealer: Sealer, ttl: float) -> None:
        self._pool = pool
        self._sealer = sealer
        self._ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._commands: dict[str, tuple[float, frozenset[str]]] = {}

    async def get(self, tenant_id: str, provider: str) -> str:
        """The secret, or ApiError: 404 for an unknown tenant or an unconfigured provider, 503
        for a secret this process' master key does not open."""
        key = (tenant_id, provider)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            exists, secret = await tenants.lookup_signing_secret(
                self._pool, self._sealer, tenant_id, provider
            )
        except InvalidTag:  # sealed under another master key: the provider should retry later
            raise ApiError(
                503, "secret_unreadable",
                f"the {provider} signing secret of tenant {tenant_id!r} does not decrypt: it was "
                "sealed under another SWITCHBOARD_MASTER_KEY", retry_after=60,
            ) from None
        if not exists:
            raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
        if secret is None:
            raise ApiError(
                404, "integration_not_configured",
                f"tenant {tenant_id!r} has no {provider} signing secret configured",
            )
        self._cache[key] = (now + self._ttl, secret)
        return secret

    async def slack_commands(self, tenant_id: str) -> frozenset[str]:
        """The slash commands the tenant's Slack app sends; 404 for an unknown tenant."""
        hit = self._commands.get(tenant_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        names = await tenants.slack_commands(self._pool, tenant_id)
        if names is None:
            raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
        self._commands[tenant_id] = (now + self._ttl, frozenset(names))
        return self._commands[tenant_id][1]

    def invalidate(self, tenant_id: str, provider: str | None = None) -> None:
        """Forget cached secrets of a tenant (one provider, or all and its Slack commands)."""
        if provider is None:
            self._commands.pop(tenant_id, None)
        for key in [k for k in self._cache if k[0] == tenant_id]:
            if provider is None or key[1] == provider:
                del self._cache[key]
