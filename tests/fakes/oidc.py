"""A local OpenID Connect provider: discovery and JWKS over HTTP, RS256 access tokens minted.

Enough of a provider for a resource server to check its tokens the standard way: PyJWKClient
reads ``/jwks.json`` (found through ``/.well-known/openid-configuration``), and ``token`` signs
claims with the provider's RSA key, or with a stranger's key for a forgery.
"""

from __future__ import annotations

import json
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes._http import FakeHandler, LocalServer


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeOidc(LocalServer):
    """The fake provider; use as a context manager. Its issuer is its own origin."""

    def __init__(self) -> None:
        self.key = _rsa_key()
        self.kid = uuid.uuid4().hex[:12]
        self.jwks_fetches = 0
        super().__init__(self._handler())

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens, also where discovery starts."""
        return self.origin

    def token(self, subject: str, *, email: str | None = None, groups: tuple[str, ...] = (),
              audience: str = "switchboard", issuer: str | None = None, expires_in: int = 300,
              forged: bool = False) -> str:
        """An RS256 access token; ``forged`` signs it with a key the JWKS does not hold."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer or self.issuer, "sub": subject, "aud": audience,
                                  "iat": now, "exp": now + expires_in, "groups": list(groups)}
        if email is not None:
            claims["email"] = email
        key = _rsa_key() if forged else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def _jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self.answer_json(200, {"issuer": fake.issuer,
                                           "jwks_uri": f"{fake.origin}/jwks.json",
                                           "id_token_signing_alg_values_supported": ["RS256"]})
                elif self.path == "/jwks.json":
                    fake.jwks_fetches += 1
                    self.answer_json(200, fake._jwks())
                else:
                    self.answer_json(404, {"error": "not_found"})

        return Handler
