"""Payload encryption: every workflow and activity payload is sealed with AES-GCM before it
reaches Temporal, so its history holds no event body, prompt, answer or tool result in plaintext.

A sealed payload is the original ``Payload`` message (metadata and data), serialized, encrypted
under the active key and stored as ``nonce(12) || ciphertext+tag`` with the plaintext metadata
``encoding: binary/encrypted`` and ``encryption-key-id: <kid>``. The key id is also the AES-GCM
associated data, so a payload cannot be passed off as sealed under another key. Rotation: put the
new key first in ``SWITCHBOARD_PAYLOAD_KEYS`` and keep the old ones after it; they still open
what they sealed. A payload without the encrypted encoding (histories written before the codec
was turned on) is passed through as it is.

Failure messages and stack traces are sealed too (encoded failure attributes). Search attributes
and headers (trace context) are not the converter's payloads: they stay plaintext and hold no
content (workflows/search.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from infra.settings import PayloadSettings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12


class PayloadKeyError(ValueError):
    """A sealed payload names a key this process does not hold, or fails authentication."""


class AesGcmCodec(PayloadCodec):
    """Seals payloads under the first key of the ring; opens them with whichever key they name."""

    def __init__(self, ring: Sequence[tuple[str, bytes]]) -> None:
        if not ring:
            raise ValueError("a payload codec needs at least one key")
        self._active = ring[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in ring}

    @property
    def active_key_id(self) -> str:
        """The id of the key new payloads are sealed under."""
        return self._active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal each payload under the active key."""
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open each sealed payload; pass others through."""
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        """One payload, encrypted under the active key."""
        kid = self._active
        nonce = os.urandom(_NONCE)
        sealed = self._keys[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()},
                       data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        """One payload as it was before sealing (unchanged if it was never sealed)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        key = self._keys.get(kid)
        if key is None:
            raise PayloadKeyError(f"payload sealed under key {kid!r}, which is not in "
                                  "SWITCHBOARD_PAYLOAD_KEYS")
        try:
            plain = key.decrypt(payload.data[:_NONCE], payload.data[_NONCE:], kid.encode())
        except InvalidTag:
            raise PayloadKeyError(f"payload under key {kid!r} failed authentication") from None
        opened = Payload()
        opened.ParseFromString(plain)
        return opened


def build_codec(settings: PayloadSettings) -> AesGcmCodec | None:
    """The codec of the configured keys; None when no key is set (plaintext payloads)."""
    ring = settings.key_ring()
    return AesGcmCodec(ring) if ring else None


def data_converter(settings: PayloadSettings) -> DataConverter:
    """Pydantic payloads, sealed by the codec when keys are configured.

    Failures' messages and stack traces then travel as an encoded attribute too (the history
    shows "Encoded failure"), since an error may quote what it failed on.
    """
    codec = build_codec(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter, payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
