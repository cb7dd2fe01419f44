"""The user_sessions and refresh_tokens tables: logins and their rotating refresh tokens.

A login opens a session, the family of its refresh tokens. Each refresh token works once and is
replaced by the next (rotation); presenting one that was already used means it was copied, so the
whole session is revoked (OAuth 2.0 Security BCP, refresh token rotation), its newest refresh
token and its access tokens included. Only a SHA-256 of each refresh token is kept: they are 256
bits of randomness, so a fast hash is enough (as for agents' client secrets).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import Enum

import asyncpg


class Refused(Enum):
    """Why a refresh token was refused."""

    unknown = "refresh token is not valid"
    expired = "refresh token expired"
    revoked = "the session was revoked"
    reused = "refresh token was already used: the session is revoked"


@dataclass(frozen=True)
class Rotated:
    """A refresh that worked: the session, its user and the next refresh token."""

    session_id: str
    user_id: str
    refresh_token: str


@dataclass(frozen=True)
class SessionState:
    """What an access token's check needs: its user's email, and whether the session lives."""

    email: str
    live: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return "sbr_" + secrets.token_urlsafe(32)


async def _add_token(conn: asyncpg.Connection, session_id: str, ttl_seconds: int) -> str:
    token = _new_token()
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
        " VALUES ($1, $2::uuid, now() + make_interval(secs => $3))",
        _hash(token), session_id, ttl_seconds)
    return token


async def open_session(pool: asyncpg.Pool, user_id: str, ttl_seconds: int) -> tuple[str, str]:
    """A new session for the user: (its id, its first refresh token)."""
    session_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO user_sessions (id, user_id) VALUES ($1::uuid, $2::uuid)",
                           session_id, user_id)
        return session_id, await _add_token(conn, session_id, ttl_seconds)


async def rotate(pool: asyncpg.Pool, refresh_token: str, ttl_seconds: int) -> Rotated | Refused:
    """Spend a refresh token for the next one; a second use revokes its session."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT r.session_id::text, s.user_id::text, r.used_at IS NOT NULL AS used,"
            " r.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked"
            " FROM refresh_tokens r JOIN user_sessions s ON s.id = r.session_id"
            " WHERE r.token_hash = $1 FOR UPDATE OF r, s", _hash(refresh_token))
        if row is None:
            return Refused.unknown
        if row["revoked"]:
            return Refused.revoked
        if row["used"]:
            await _revoke(conn, row["session_id"], "refresh token reused")
            return Refused.reused
        if row["expired"]:
            return Refused.expired
        await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
                           _hash(refresh_token))
        # Spent tokens are kept until they expire (a reuse must still be recognised), no longer.
        await conn.execute("DELETE FROM refresh_tokens WHERE session_id = $1::uuid"
                           " AND expires_at <= now()", row["session_id"])
        token = await _add_token(conn, row["session_id"], ttl_seconds)
        return Rotated(row["session_id"], row["user_id"], token)


async def _revoke(conn: asyncpg.Connection, session_id: str, why: str) -> None:
    await conn.execute("UPDATE user_sessions SET revoked_at = now(), revoked_why = $2"
                       " WHERE id = $1::uuid AND revoked_at IS NULL", session_id, why)


async def close(pool: asyncpg.Pool, refresh_token: str) -> None:
    """Log out: revoke the session of this refresh token (nothing if it names none)."""
    async with pool.acquire() as conn, conn.transaction():
        session_id = await conn.fetchval(
            "SELECT session_id::text FROM refresh_tokens WHERE token_hash = $1",
            _hash(refresh_token))
        if session_id is not None:
            await _revoke(conn, session_id, "logout")


async def state(pool: asyncpg.Pool, session_id: str, user_id: str) -> SessionState | None:
    """The session's user and liveness, or None if there is no such session of that user."""
    row = await pool.fetchrow(
        "SELECT u.email, s.revoked_at IS NULL AS live FROM user_sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.id = $1::uuid AND s.user_id = $2::uuid",
        session_id, user_id)
    return SessionState(row["email"], row["live"]) if row is not None else None
