"""Where the tool gateway takes credentials from: per-tenant secrets behind one contract.

Two backends implement :class:`SecretStore`: :class:`EmbeddedSecretStore` (AES-GCM in the
platform's PostgreSQL under ``SWITCHBOARD_MASTER_KEY``, the default) and
:class:`HashiCorpSecretStore` (Vault KV v2 through ``hvac``). :func:`build_secret_store` picks one
from ``VAULT_BACKEND``. Errors are drawn in :mod:`infra.vault.errors`.
"""

from __future__ import annotations

from infra.vault.base import (
    MAX_VALUE_CHARS,
    SECRET_NAME,
    SecretInfo,
    SecretStore,
    check_key,
)
from infra.vault.embedded import EmbeddedSecretStore, secret_context
from infra.vault.errors import (
    InvalidSecret,
    SecretStoreConfigError,
    SecretStoreError,
    SecretUnreadable,
    UnknownTenant,
    VaultDenied,
    VaultUnavailable,
)
from infra.vault.factory import build_secret_store
from infra.vault.hashicorp import HashiCorpSecretStore
from infra.vault.master_key import checked_master_key

__all__ = [
    "MAX_VALUE_CHARS",
    "SECRET_NAME",
    "EmbeddedSecretStore",
    "HashiCorpSecretStore",
    "InvalidSecret",
    "SecretInfo",
    "SecretStore",
    "SecretStoreConfigError",
    "SecretStoreError",
    "SecretUnreadable",
    "UnknownTenant",
    "VaultDenied",
    "VaultUnavailable",
    "build_secret_store",
    "check_key",
    "checked_master_key",
    "secret_context",
]
