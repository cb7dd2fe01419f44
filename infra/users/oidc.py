"""Access tokens of an OpenID Connect identity provider, checked against its JWKS.

A token is accepted when it is RS256-signed by a key of the provider's JWKS and carries the
configured issuer and audience and an unexpired ``exp``. Its groups (``SWITCHBOARD_OIDC_GROUPS_
CLAIM``) become roles through ``SWITCHBOARD_OIDC_ROLE_MAP``; a user of the provider has no other
roles. PyJWKClient caches the keys and fetches them again for an unknown ``kid`` (key rotation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from infra.settings import OidcSettings
from infra.users.roles import Role, merge


class OidcError(Exception):
    """A provider token that must be refused; the message says why."""


@dataclass(frozen=True)
class OidcUser:
    """Who a provider's token speaks for."""

    subject: str
    email: str | None
    roles: dict[str, Role]


def parse_role_map(raw: Mapping[str, Any]) -> dict[str, dict[str, Role]]:
    """Group -> {tenant: role}, from {tenant: role}, "tenant:role" or a list of such strings."""
    parsed: dict[str, dict[str, Role]] = {}
    for group, value in raw.items():
        pairs: list[tuple[str, str]]
        if isinstance(value, Mapping):
            pairs = [(str(t), str(r)) for t, r in value.items()]
        else:
            items = [value] if isinstance(value, str) else list(value)
            pairs = [tuple(str(i).split(":", 1)) for i in items]  # type: ignore[misc]
        try:
            parsed[group] = merge(*({tenant: Role(role)} for tenant, role in pairs))
        except ValueError:
            raise ValueError(f"SWITCHBOARD_OIDC_ROLE_MAP: group {group!r} maps to no "
                             f"tenant:role (roles: owner, admin, operator, viewer)") from None
    return parsed


class OidcVerifier:
    """Checks one provider's access tokens; built once per process."""

    def __init__(self, settings: OidcSettings) -> None:
        if not settings.issuer or not settings.audience:
            raise ValueError("SWITCHBOARD_OIDC_ISSUER and SWITCHBOARD_OIDC_AUDIENCE go together")
        self.issuer = settings.issuer
        self._settings = settings
        self._role_map = parse_role_map(settings.role_map)
        self._jwks: jwt.PyJWKClient | None = None

    async def _client(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._settings.jwks_url
            if url is None:
                discovery = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                async with httpx.AsyncClient(timeout=10) as http:
                    response = await http.get(discovery)
                    response.raise_for_status()
                    url = str(response.json()["jwks_uri"])
            self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)
        return self._jwks

    async def verify(self, token: str) -> OidcUser:
        """The token's user and roles, or OidcError."""
        try:
            client = await self._client()
            key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], issuer=self.issuer,
                audience=self._settings.audience, options={"require": ["exp", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise OidcError("token expired") from None
        except jwt.PyJWKClientConnectionError:
            raise OidcError("the identity provider's keys could not be fetched") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as err:
            raise OidcError(f"invalid token: {err}") from None
        except (httpx.HTTPError, KeyError, ValueError):
            raise OidcError("the identity provider's discovery document is unusable") from None
        groups = claims.get(self._settings.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        roles = merge(*(self._role_map.get(str(g), {}) for g in groups))
        email = claims.get(self._settings.email_claim)
        return OidcUser(subject=str(claims["sub"]),
                        email=email.lower() if isinstance(email, str) else None, roles=roles)


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, unverified (to choose who checks it), or None."""
    try:
        iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None
    return iss if isinstance(iss, str) else None
