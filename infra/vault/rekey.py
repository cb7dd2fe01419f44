"""Master-key rotation: every value sealed under ``SWITCHBOARD_MASTER_KEY`` sealed again.

Three tables hold values sealed under the master key: ``integrations`` (providers' webhook
signing secrets), ``secrets`` (the embedded vault's gateway credentials) and ``signing_keys``
(the private key that signs agent and user tokens). Each table's owner reseals its own rows; this
runs the three in one transaction, so afterwards either every value opens with the new key only,
or nothing changed (a value the old key does not open aborts the whole rotation).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag

from infra.auth.tokens import reseal_signing_keys
from infra.crypto import Sealer
from infra.directory.tenants import reseal_integration_secrets
from infra.vault.embedded import reseal_secrets


class WrongMasterKey(Exception):
    """A sealed value does not open with the key given as the current one; nothing changed."""


@dataclass(frozen=True)
class Resealed:
    """How many values of each table were sealed again."""

    integrations: int
    secrets: int
    signing_keys: int


async def rotate_master_key(pool: asyncpg.Pool, old: bytes, new: bytes) -> Resealed:
    """Seal every sealed value again under ``new``, all or nothing."""
    was, now = Sealer(old), Sealer(new)
    try:
        async with pool.acquire() as conn, conn.transaction():
            return Resealed(integrations=await reseal_integration_secrets(conn, was, now),
                            secrets=await reseal_secrets(conn, was, now),
                            signing_keys=await reseal_signing_keys(conn, was, now))
    except InvalidTag:
        raise WrongMasterKey("a sealed value does not open with the current master key: "
                             "nothing was changed") from None
