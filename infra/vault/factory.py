"""Choosing the secret store the settings ask for."""

from __future__ import annotations

import asyncpg

from infra.crypto import Sealer
from infra.settings import Settings
from infra.vault.base import SecretStore
from infra.vault.embedded import EmbeddedSecretStore
from infra.vault.hashicorp import HashiCorpSecretStore
from infra.vault.master_key import checked_master_key


def build_secret_store(settings: Settings, pool: asyncpg.Pool) -> SecretStore:
    """The store of ``VAULT_BACKEND``; raises SecretStoreConfigError on unusable settings."""
    if settings.vault.backend == "hashicorp":
        return HashiCorpSecretStore(settings.vault)
    return EmbeddedSecretStore(pool, Sealer(checked_master_key(settings)))
