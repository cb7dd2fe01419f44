"""Agent access tokens: EdDSA-signed JWTs, keys shared by every API process, revocation.

The private signing key is created once, sealed under the master key in ``signing_keys``, and
loaded by each process; verifiers only need ``/.well-known/jwks.json``. A token is refused when
it is expired, signed by an unknown key, revoked by id, or issued before its agent's
``tokens_valid_after`` (revoke-all, used by the kill switch). A paused agent gets no token and
its tokens are refused (``AgentPaused``) until it is resumed. Revoking a token closes its sockets
in every API process (``close-token:<jti>``, infra/directory/closes.py, NOTIFYed in the same
transaction).

Agent ids are unique only within a tenant, so an agent's OAuth2 client id is
``<tenant>.<agent id>`` (``acme.coder``): tenant ids never contain a dot, so the first dot
separates them, and the id needs no escaping in a form, a URL or HTTP Basic. A token's ``sub`` is
that client id; its ``tenant`` and ``agent`` claims name the two halves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from infra.crypto import Sealer, reseal
from infra.database import delete_in_batches
from infra.directory.closes import SocketClose, Why, notify

ISSUER = "switchboard"
_KEY_LOCK = 0x5B0A_0002


class TokenError(Exception):
    """A token that must be refused; the message says why (never the token itself)."""


class AgentPaused(TokenError):
    """The agent is paused: no token is issued to it and its tokens are refused until resumed."""

    def __init__(self) -> None:
        super().__init__("agent is paused until an admin resumes it")


@dataclass(frozen=True)
class AgentPrincipal:
    """Who a valid token speaks for."""

    tenant_id: str
    agent_id: str
    scopes: frozenset[str]
    token_id: str
    expires_at: int
    issued_at: float = 0.0


def client_id(tenant_id: str, agent_id: str) -> str:
    """An agent's OAuth2 client id: ``<tenant>.<agent id>``."""
    return f"{tenant_id}.{agent_id}"


def parse_client_id(value: str) -> tuple[str, str] | None:
    """(tenant, agent id) of a client id, or None if it names no tenant and agent."""
    tenant_id, dot, agent_id = value.partition(".")
    return (tenant_id, agent_id) if dot and tenant_id and agent_id else None


def new_client_secret() -> tuple[str, str]:
    """A fresh client secret and the hash stored for it."""
    secret = "sbs_" + secrets.token_urlsafe(32)
    return secret, hash_client_secret(secret)


def hash_client_secret(secret: str) -> str:
    """SHA-256 of a client secret (secrets are 256-bit random, so a fast hash suffices)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check of a presented client secret."""
    return stored_hash is not None and hmac.compare_digest(hash_client_secret(secret), stored_hash)


class TokenService:
    """Issues and verifies agent tokens."""

    def __init__(self, pool: asyncpg.Pool, sealer: Sealer, ttl_seconds: int) -> None:
        self._pool = pool
        self._sealer = sealer
        self.ttl = ttl_seconds
        self._signing: tuple[str, Ed25519PrivateKey] | None = None
        self._public: dict[str, Ed25519PublicKey] = {}

    async def _signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        if self._signing is None:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _KEY_LOCK)
                row = await conn.fetchrow(
                    "SELECT kid, private_enc FROM signing_keys ORDER BY created_at DESC LIMIT 1")
                if row is None:
                    kid, key = uuid.uuid4().hex, Ed25519PrivateKey.generate()
                    raw = key.private_bytes(serialization.Encoding.Raw,
                                            serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption())
                    jwk = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
                    await conn.execute(
                        "INSERT INTO signing_keys (kid, private_enc, public_jwk)"
                        " VALUES ($1, $2, $3)",
                        kid, self._sealer.seal(raw.hex(), f"signing_key/{kid}"),
                        {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"})
                else:
                    kid = row["kid"]
                    raw_hex = self._sealer.open(row["private_enc"], f"signing_key/{kid}")
                    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw_hex))
            self._signing = (kid, key)
            self._public[kid] = key.public_key()
        return self._signing

    async def jwks(self) -> dict[str, Any]:
        """The public keys, as ``/.well-known/jwks.json`` serves them."""
        await self._signing_key()
        rows = await self._pool.fetch("SELECT public_jwk FROM signing_keys ORDER BY created_at")
        return {"keys": [r["public_jwk"] for r in rows]}

    async def authenticate(self, client: str, secret: str) -> tuple[str, str] | None:
        """(tenant, agent id) of the client whose secret this is, or None; AgentPaused if paused."""
        parsed = parse_client_id(client)
        if parsed is None:
            return None
        row = await self._pool.fetchrow(
            "SELECT client_secret_hash, status = 'paused' AS paused FROM agents"
            " WHERE tenant_id = $1 AND id = $2", *parsed)
        if row is None or not secret_matches(secret, row[0]):
            return None
        if row["paused"]:
            raise AgentPaused
        return parsed

    async def issue(self, tenant_id: str, agent_id: str, scopes: list[str]) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        kid, key = await self._signing_key()
        # iat keeps its fraction of a second (RFC 7519 allows it): revoke-all cuts at the
        # database's now(), and a token issued a moment after it, in the same second, is valid.
        now = time.time()
        claims = {"iss": ISSUER, "sub": client_id(tenant_id, agent_id), "tenant": tenant_id,
                  "agent": agent_id, "scope": " ".join(scopes),
                  "iat": round(now, 6), "exp": int(now) + self.ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid}), self.ttl

    async def sign(self, claims: dict[str, Any]) -> str:
        """Sign other claims (user access tokens, infra/users/) with the current key."""
        kid, key = await self._signing_key()
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})

    async def decode(self, token: str, audience: str) -> dict[str, Any]:
        """Claims of a token signed here for ``audience``; TokenError saying why it is refused."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise TokenError("token has no key id")
            claims: dict[str, Any] = jwt.decode(
                token, await self._public_key(kid), algorithms=["EdDSA"], issuer=ISSUER,
                audience=audience, options={"require": ["exp", "iat", "sub", "jti", "aud"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidTokenError as err:
            raise TokenError(f"invalid token: {err}") from None
        return claims

    async def _public_key(self, kid: str) -> Ed25519PublicKey:
        if kid not in self._public:
            row = await self._pool.fetchrow("SELECT public_jwk FROM signing_keys WHERE kid = $1",
                                            kid)
            if row is None:
                raise TokenError("token signed by an unknown key")
            key = OKPAlgorithm.from_jwk(json.dumps(row["public_jwk"]))
            assert isinstance(key, Ed25519PublicKey)
            self._public[kid] = key
        return self._public[kid]

    async def verify(self, token: str) -> AgentPrincipal:
        """The token's principal, or TokenError saying why it is refused."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise TokenError("token has no key id")
            claims = jwt.decode(
                token, await self._public_key(kid), algorithms=["EdDSA"], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidTokenError as err:
            raise TokenError(f"invalid token: {err}") from None
        tenant_id = claims.get("tenant")
        # Tokens issued before agents were per tenant carry the bare agent id as ``sub``.
        agent_id = claims.get("agent", claims["sub"])
        if not isinstance(tenant_id, str) or not isinstance(agent_id, str):
            raise TokenError("invalid token: it names no tenant and agent")
        row = await self._pool.fetchrow(
            "SELECT a.tokens_valid_after > to_timestamp($4) AS stale,"
            " EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $3) AS revoked,"
            " a.status = 'paused' AS paused"
            " FROM agents a WHERE a.tenant_id = $1 AND a.id = $2",
            tenant_id, agent_id, claims["jti"], claims["iat"])
        if row is None:
            raise TokenError("token's agent does not exist")
        if row["revoked"] or row["stale"]:
            raise TokenError("token revoked")
        if row["paused"]:
            raise AgentPaused
        return AgentPrincipal(tenant_id=tenant_id, agent_id=agent_id,
                              scopes=frozenset(str(claims.get("scope", "")).split()),
                              token_id=claims["jti"], expires_at=int(claims["exp"]),
                              issued_at=float(claims["iat"]))

    async def revoke(self, principal: AgentPrincipal) -> None:
        """Revoke one token by id until it would have expired anyway; its sockets close."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))"
                " ON CONFLICT (jti) DO NOTHING", principal.token_id, principal.expires_at)
            await notify(conn, SocketClose(Why.TOKEN_REVOKED, token_id=principal.token_id))


async def refused(pool: asyncpg.Pool, principals: Sequence[AgentPrincipal]) -> list[Why | None]:
    """Why each of these (once valid) tokens is refused now, or None: one query for them all.

    Used after a lost LISTEN to close the sockets whose NOTIFY may have been missed.
    """
    if not principals:
        return []
    rows = await pool.fetch(
        "SELECT c.i, CASE"
        " WHEN a.id IS NULL OR a.tokens_valid_after > to_timestamp(c.iat) THEN 'tokens_revoked'"
        " WHEN EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = c.jti) THEN 'token_revoked'"
        " WHEN a.status = 'paused' THEN 'paused' END AS why"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])"
        "  WITH ORDINALITY AS c(tenant_id, agent_id, jti, iat, i)"
        " LEFT JOIN agents a ON a.tenant_id = c.tenant_id AND a.id = c.agent_id",
        [p.tenant_id for p in principals], [p.agent_id for p in principals],
        [p.token_id for p in principals], [p.issued_at for p in principals])
    found = {int(r["i"]): r["why"] for r in rows}
    return [Why(w) if (w := found.get(i + 1)) is not None else None
            for i in range(len(principals))]


async def reseal_signing_keys(conn: asyncpg.Connection, old: Sealer, new: Sealer) -> int:
    """Seal every token-signing private key again under ``new`` (master-key rotation, in the
    caller's transaction); how many. InvalidTag if one was not sealed by ``old``."""
    rows = await conn.fetch("SELECT kid, private_enc FROM signing_keys FOR UPDATE")
    for row in rows:
        sealed = reseal(old, new, row["private_enc"], f"signing_key/{row['kid']}")
        await conn.execute("UPDATE signing_keys SET private_enc = $2 WHERE kid = $1",
                           row["kid"], sealed)
    return len(rows)


async def prune_revoked(pool: asyncpg.Pool, before: datetime, batch: int) -> int:
    """Forget revocations of tokens that expired before ``before``; return how many.

    An expired token is refused by its ``exp`` alone, so its revocation row is no longer needed.
    """
    return await delete_in_batches(
        pool, "DELETE FROM revoked_tokens WHERE ctid = ANY(ARRAY(SELECT ctid FROM revoked_tokens"
        " WHERE expires_at < $1 LIMIT $2))", before, batch=batch)
