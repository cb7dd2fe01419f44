"""Password hashes: scrypt from the standard library, a memory-hard KDF (RFC 7914).

No new dependency: ``hashlib.scrypt`` is OpenSSL's. The cost is stored in each hash
(``scrypt$<log2 N>$<r>$<p>$<salt>$<key>``), so raising ``SWITCHBOARD_AUTH_SCRYPT_LOG_N`` applies
to new hashes while old ones still verify. Hashing is CPU-bound: callers run it in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_R, _P, _KEY_BYTES = 8, 1, 32


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES,
                          maxmem=256 * n * r + 1024 * 1024)


def hash_password(password: str, log_n: int) -> str:
    """A fresh salted scrypt hash of ``password``."""
    salt = os.urandom(16)
    key = _derive(password, salt, log_n, _R, _P)
    return f"scrypt${log_n}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None, log_n: int) -> bool:
    """Whether ``password`` matches ``stored``; with nothing stored, spend the same time anyway.

    An unknown email must not answer faster than a wrong password (that would list the users).
    """
    if stored is None:
        _derive(password, b"\0" * 16, log_n, _R, _P)
        return False
    try:
        scheme, log_n_text, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(log_n_text), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, _unb64(key))
