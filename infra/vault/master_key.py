"""The embedded backend's master key policy: no placeholder keys outside dev mode."""

from __future__ import annotations

import logging
import string

from infra.settings import Settings
from infra.vault.errors import SecretStoreConfigError

log = logging.getLogger(__name__)

_PRINTABLE = frozenset(string.printable.encode())
_SEQUENCES = (bytes(range(32)), bytes(range(31, -1, -1)), bytes(range(1, 33)))
_GENERATE = "python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"


def weakness(key: bytes) -> str | None:
    """Why ``key`` looks like a default or hand-made value rather than random bytes, or None.

    32 random bytes practically never have fewer than 8 distinct values (all zeros, one repeated
    byte, a short pattern), never form a counting sequence and are all printable ASCII with a
    chance of about 1e-14: such keys were typed (``base64("changeme...")``) or copied from docs.
    """
    if len(set(key)) < 8:
        return "it repeats a few byte values (e.g. all zeros)"
    if key in _SEQUENCES:
        return "it is a counting sequence"
    if set(key) <= _PRINTABLE:
        return "it is base64 of printable text, not of random bytes"
    return None


def checked_master_key(settings: Settings) -> bytes:
    """The master key for the embedded store, refusing missing or placeholder keys.

    A missing key is refused always (nothing could be decrypted); a weak one outside dev mode.
    """
    if settings.master_key is None:
        raise SecretStoreConfigError(
            "SWITCHBOARD_MASTER_KEY is not set: the embedded vault needs base64 of 32 random "
            f"bytes (generate one with: {_GENERATE})"
        )
    key = settings.master_key_bytes()
    reason = weakness(key)
    if reason is None:
        return key
    if settings.dev_mode:
        log.warning("SWITCHBOARD_MASTER_KEY is weak (%s); accepted in dev mode only", reason)
        return key
    raise SecretStoreConfigError(
        f"SWITCHBOARD_MASTER_KEY is a placeholder ({reason}); refusing it outside dev mode. "
        f"Generate a real key with: {_GENERATE}"
    )
