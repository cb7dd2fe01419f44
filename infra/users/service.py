"""The door the API uses for users: register, log in, refresh, log out, and who a token is.

Access tokens are the platform's own EdDSA JWTs (infra/auth/tokens.py, the keys of
``/.well-known/jwks.json``) with audience ``switchboard:user``: an agent's token (no audience)
is never a user's, and a user's is never an agent's. They last 15 minutes by default and carry
their session's id, so logging out or a reused refresh token ends them at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import asyncpg

from infra.auth.tokens import TokenError, TokenService
from infra.settings import AuthSettings, OidcSettings
from infra.users import sessions, store
from infra.users.oidc import OidcError, OidcVerifier, unverified_issuer
from infra.users.passwords import hash_password, verify_password
from infra.users.roles import Principal, Role
from infra.users.store import UserRecord

USER_AUDIENCE = "switchboard:user"
_BAD_LOGIN = "wrong email or password"


class AuthError(Exception):
    """A refusal; ``code`` is the API's error code (unauthorized, registration_closed, ...)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh answers."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


def _invitation_hash(invitation: str) -> str:
    return hashlib.sha256(invitation.encode()).hexdigest()


class Users:
    """Accounts, sessions and user tokens; built once per API process."""

    def __init__(self, pool: asyncpg.Pool, tokens: TokenService, auth: AuthSettings,
                 oidc: OidcSettings) -> None:
        self._pool = pool
        self._tokens = tokens
        self._auth = auth
        self._oidc = OidcVerifier(oidc) if oidc.issuer else None

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, self._auth.scrypt_log_n)

    async def create(self, email: str, password: str | None) -> tuple[UserRecord, str | None]:
        """A new user with a password, or invited (the invitation token is returned once)."""
        invitation = None if password is not None else "sbi_" + secrets.token_urlsafe(32)
        user = await store.create_user(
            self._pool, email,
            password_hash=await self._hash(password) if password is not None else None,
            invitation_hash=_invitation_hash(invitation) if invitation else None,
            invitation_seconds=self._auth.invitation_ttl_seconds)
        if user is None:
            raise AuthError("user_exists", f"a user {email.lower()!r} exists already")
        return user, invitation

    async def register(self, email: str, password: str, invitation: str | None) -> UserRecord:
        """Set up an account: by invitation, or by anyone where registration is open."""
        if invitation is not None:
            user = await store.accept_invitation(
                self._pool, email, _invitation_hash(invitation), await self._hash(password))
            if user is None:
                raise AuthError("invalid_invitation",
                                "the invitation is not valid for this email (or expired)")
            return user
        if not self._auth.registration:
            raise AuthError("registration_closed",
                            "registration needs an invitation"
                            " (SWITCHBOARD_AUTH_REGISTRATION is off)")
        return (await self.create(email, password))[0]

    async def login(self, email: str, password: str) -> TokenPair:
        """Tokens for a right email and password; the same refusal for a wrong one or neither."""
        user = await store.get_user(self._pool, email)
        stored = user.password_hash if user is not None else None
        ok = await asyncio.to_thread(verify_password, password, stored, self._auth.scrypt_log_n)
        if user is None or not ok:
            raise AuthError("unauthorized", _BAD_LOGIN)
        session_id, refresh = await sessions.open_session(
            self._pool, user.id, self._auth.refresh_ttl_seconds)
        return await self._pair(user.id, user.email, session_id, refresh)

    async def _pair(self, user_id: str, email: str, session_id: str, refresh: str) -> TokenPair:
        now = time.time()
        ttl = self._auth.access_ttl_seconds
        access = await self._tokens.sign({
            "iss": "switchboard", "aud": USER_AUDIENCE, "sub": user_id, "email": email,
            "sid": session_id, "iat": round(now, 6), "exp": int(now) + ttl,
            "jti": uuid.uuid4().hex})
        return TokenPair(access, refresh, ttl)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the next pair for a refresh token's first use; a second use ends the session."""
        rotated = await sessions.rotate(self._pool, refresh_token, self._auth.refresh_ttl_seconds)
        if isinstance(rotated, sessions.Refused):
            raise AuthError("unauthorized", rotated.value)
        state = await sessions.state(self._pool, rotated.session_id, rotated.user_id)
        assert state is not None  # just rotated in it
        return await self._pair(rotated.user_id, state.email, rotated.session_id,
                                rotated.refresh_token)

    async def logout(self, refresh_token: str) -> None:
        """End the session of this refresh token, with its access tokens."""
        await sessions.close(self._pool, refresh_token)

    async def principal(self, token: str) -> Principal:
        """Who a user access token (ours, or the identity provider's) speaks for; AuthError."""
        if self._oidc is not None and unverified_issuer(token) == self._oidc.issuer:
            try:
                found = await self._oidc.verify(token)
            except OidcError as err:
                raise AuthError("unauthorized", str(err)) from None
            return Principal(kind="user", actor=found.email or found.subject, email=found.email,
                             via="oidc", roles=found.roles)
        try:
            claims = await self._tokens.decode(token, USER_AUDIENCE)
            user_id, session_id = str(claims["sub"]), str(claims["sid"])
            uuid.UUID(user_id), uuid.UUID(session_id)
        except TokenError as err:
            raise AuthError("unauthorized", str(err)) from None
        except (KeyError, ValueError):
            raise AuthError("unauthorized", "invalid token: not a user access token") from None
        state = await sessions.state(self._pool, session_id, user_id)
        if state is None or not state.live:
            raise AuthError("unauthorized", "token revoked (the session ended)")
        roles: dict[str, Role] = await store.roles_of(self._pool, user_id)
        return Principal(kind="user", actor=state.email, email=state.email, user_id=user_id,
                         via="password", roles=roles)
