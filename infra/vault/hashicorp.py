"""The HashiCorp Vault backend: KV v2 through ``hvac``, one Vault secret per tenant secret.

A secret lives at ``<mount>/data/<path_prefix>/<tenant>/<name>`` as ``{"value": ...}``. hvac is
synchronous, so every call runs in a worker thread and the event loop never blocks on Vault.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import hvac
import requests
from hvac import exceptions as hv

from infra.settings import VaultSettings
from infra.vault.base import SecretInfo, check_key, check_tenant, check_value
from infra.vault.errors import (
    SecretStoreConfigError,
    SecretUnreadable,
    VaultDenied,
    VaultUnavailable,
)

T = TypeVar("T")
_REDACTED = "<redacted>"


class HashiCorpSecretStore:
    """A :class:`~infra.vault.base.SecretStore` on HashiCorp Vault KV v2.

    Authenticates with ``VAULT_TOKEN``, or with AppRole (``VAULT_ROLE_ID`` + ``VAULT_SECRET_ID``):
    the first call logs in, and a 403 (the token expired) logs in again once and retries.
    """

    def __init__(self, settings: VaultSettings) -> None:
        if not settings.addr:
            raise SecretStoreConfigError("VAULT_BACKEND=hashicorp needs VAULT_ADDR")
        if bool(settings.role_id) != bool(settings.secret_id):
            raise SecretStoreConfigError("VAULT_ROLE_ID and VAULT_SECRET_ID must be set together")
        self._role_id = settings.role_id
        self._secret_id = settings.secret_id.get_secret_value() if settings.secret_id else None
        token = settings.token.get_secret_value() if settings.token else ""
        if not self._role_id and not token:
            raise SecretStoreConfigError(
                "VAULT_BACKEND=hashicorp needs VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID"
            )
        self._addr = settings.addr
        self._mount = settings.mount.strip("/")
        self._prefix = settings.path_prefix.strip("/")
        # An explicit token ("" under AppRole) keeps hvac from falling back to ~/.vault-token.
        self._client = hvac.Client(
            url=settings.addr, token="" if self._role_id else token,
            timeout=settings.timeout_seconds,
        )
        self._login_lock = threading.Lock()

    async def get(self, tenant_id: str, name: str) -> str | None:
        """The value of a tenant's secret, or None if Vault has no live version of it."""
        check_key(tenant_id, name)
        return await self._run(lambda: self._read(self._path(tenant_id, name)))

    async def put(self, tenant_id: str, name: str, value: str) -> None:
        """Write a new version ``{"value": value}``."""
        check_key(tenant_id, name)
        check_value(value)
        path = self._path(tenant_id, name)
        await self._run(lambda: self._kv.create_or_update_secret(
            path=path, secret={"value": value}, mount_point=self._mount))

    async def delete(self, tenant_id: str, name: str) -> bool:
        """Destroy every version and the metadata; False if Vault had no such secret."""
        check_key(tenant_id, name)
        return await self._run(lambda: self._destroy(self._path(tenant_id, name)))

    async def names(self, tenant_id: str) -> list[str]:
        """The tenant's secret names, sorted (one LIST)."""
        check_tenant(tenant_id)
        return await self._run(lambda: self._list(tenant_id))

    async def entries(self, tenant_id: str) -> list[SecretInfo]:
        """Names and ``updated_time`` from each secret's metadata (LIST, then one GET each)."""
        check_tenant(tenant_id)
        return await self._run(lambda: self._describe(tenant_id))

    # -- synchronous halves, run in a worker thread --------------------------------------------

    @property
    def _kv(self) -> Any:
        return self._client.secrets.kv.v2

    def _path(self, *parts: str) -> str:
        return "/".join(p for p in (self._prefix, *parts) if p)

    def _read(self, path: str) -> str | None:
        try:
            response = self._kv.read_secret_version(
                path=path, mount_point=self._mount, raise_on_deleted_version=True)
        except hv.InvalidPath:
            return None
        value = (response.get("data") or {}).get("data", {}).get("value")
        if not isinstance(value, str):
            raise SecretUnreadable(f"Vault secret {self._mount}/{path} has no string 'value' field")
        return value

    def _destroy(self, path: str) -> bool:
        try:
            self._kv.read_secret_metadata(path=path, mount_point=self._mount)
        except hv.InvalidPath:
            return False
        self._kv.delete_metadata_and_all_versions(path=path, mount_point=self._mount)
        return True

    def _list(self, tenant_id: str) -> list[str]:
        try:
            response = self._kv.list_secrets(path=self._path(tenant_id), mount_point=self._mount)
        except hv.InvalidPath:
            return []
        keys = response.get("data", {}).get("keys", [])
        return sorted(k for k in keys if isinstance(k, str) and not k.endswith("/"))

    def _describe(self, tenant_id: str) -> list[SecretInfo]:
        infos = []
        for name in self._list(tenant_id):
            try:
                meta = self._kv.read_secret_metadata(
                    path=self._path(tenant_id, name), mount_point=self._mount)
            except hv.InvalidPath:  # deleted since the LIST
                continue
            updated = meta.get("data", {}).get("updated_time")
            infos.append(SecretInfo(name=name, updated_at=_timestamp(updated)))
        return infos

    async def _run(self, op: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._call, op)

    def _call(self, op: Callable[[], T]) -> T:
        try:
            if self._role_id and not self._client.token:
                self._login(stale="")
            used = self._client.token
            try:
                return op()
            except hv.Forbidden:
                if not self._role_id:
                    raise
                self._login(stale=used)  # the AppRole token expired: log in once and retry
                return op()
        except (hv.Forbidden, hv.Unauthorized) as exc:
            how = "the AppRole token" if self._role_id else "VAULT_TOKEN"
            raise VaultDenied(
                f"Vault at {self._addr} denied {how} (expired, revoked, or no policy for "
                f"{self._mount}/{self._prefix}): {self._errors(exc)}"
            ) from None
        except hv.VaultError as exc:
            raise VaultUnavailable(
                f"Vault at {self._addr} failed ({type(exc).__name__}): {self._errors(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise VaultUnavailable(
                f"cannot reach Vault at {self._addr} ({type(exc).__name__})"
            ) from None

    def _login(self, stale: str) -> None:
        with self._login_lock:
            if self._client.token and self._client.token != stale:
                return  # another thread has logged in meanwhile
            try:
                self._client.auth.approle.login(role_id=self._role_id, secret_id=self._secret_id)
            except (hv.InvalidRequest, hv.Forbidden, hv.Unauthorized) as exc:
                raise VaultDenied(
                    f"Vault at {self._addr} refused the AppRole login (check VAULT_ROLE_ID and "
                    f"VAULT_SECRET_ID): {self._errors(exc)}"
                ) from None

    def _errors(self, exc: hv.VaultError) -> str:
        text = "; ".join(str(e) for e in exc.errors) if exc.errors else "no detail"
        for secret in (self._client.token, self._secret_id):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text


def _timestamp(value: object) -> datetime | None:
    """Vault's RFC 3339 time (nanoseconds, ``Z``) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
