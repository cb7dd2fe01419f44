"""The composition root: how the API and the platform worker build the services they share.

Each process calls :func:`build_services` once at start (the API in its lifespan, the platform
worker in ``workers/platform.py``) and gets its own instances, described here once: the intent
registry, the secret store, the gateway with its stuck-agent hook, the knowledge store, the
enricher (it reads the gateway's vault). Nothing here connects or loads: the pool is opened by
the caller, the embedding model loads on first use.

The API also signs agent tokens and seals signing secrets at rest, which the platform worker never
does: :func:`build_keys` builds those, so a worker on HashiCorp Vault needs no master key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from infra.auth.tokens import TokenService
from infra.context import Embedder, KnowledgeStore, build_embedder
from infra.crypto import Sealer
from infra.enrichment import Enricher
from infra.gateway.base import Intent
from infra.gateway.registry import builtin_intents
from infra.gateway.reply import RememberReplies
from infra.gateway.service import Gateway
from infra.governance import StuckAgents
from infra.settings import ContextSettings, Settings
from infra.vault import SecretStore, build_secret_store


@dataclass(frozen=True)
class Services:
    """What the API and the platform worker both use, built the same way in each."""

    intents: dict[str, Intent[Any]]
    secrets: SecretStore
    gateway: Gateway
    embedder: Embedder
    knowledge: KnowledgeStore
    enricher: Enricher


@dataclass(frozen=True)
class Keys:
    """The API's keys: the sealer of signing secrets at rest and the agent token service."""

    sealer: Sealer
    tokens: TokenService


def build_knowledge(pool: asyncpg.Pool, settings: ContextSettings
                    ) -> tuple[Embedder, KnowledgeStore]:
    """The embedder the settings name and the knowledge store over it (nothing loaded yet)."""
    embedder = build_embedder(settings)
    return embedder, KnowledgeStore(pool, embedder, settings)


def build_services(settings: Settings, pool: asyncpg.Pool, *,
                   secrets: SecretStore | None = None) -> Services:
    """The shared services over ``pool``; ``secrets`` replaces the store the settings name."""
    intents = builtin_intents()
    store = secrets if secrets is not None else build_secret_store(settings, pool)
    embedder, knowledge = build_knowledge(pool, settings.context)
    return Services(
        intents=intents,
        secrets=store,
        gateway=Gateway(pool, store, settings.gateway, intents, on_stuck=StuckAgents(pool),
                        on_delivered=RememberReplies(knowledge)),
        embedder=embedder,
        knowledge=knowledge,
        enricher=Enricher(store, settings.gateway),
    )


def build_keys(settings: Settings, pool: asyncpg.Pool) -> Keys:
    """The API's sealer and token service; raises when SWITCHBOARD_MASTER_KEY is not set."""
    sealer = Sealer(settings.master_key_bytes())
    return Keys(sealer=sealer, tokens=TokenService(pool, sealer, settings.api.token_ttl_seconds))
