"""AES-GCM sealing of small secrets at rest (provider signing secrets, vault values)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class Sealer:
    """Encrypts and decrypts values under one 32-byte master key.

    ``context`` (e.g. ``tenant/provider``) is bound as associated data, so a ciphertext copied to
    another row does not decrypt there.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt ``plaintext``; the nonce is stored in front of the ciphertext."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        """Decrypt a value made by :meth:`seal` with the same context."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, context.encode()).decode()


def reseal(old: Sealer, new: Sealer, sealed: bytes, context: str) -> bytes:
    """``sealed`` (made by ``old`` for ``context``) sealed again by ``new``; InvalidTag if
    ``old`` did not make it."""
    return new.seal(old.open(sealed, context), context)
