"""The users and tenant_members tables: accounts, invitations and roles per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from infra.users.roles import Role


@dataclass(frozen=True)
class UserRecord:
    """A user as stored (the hashes stay inside this package)."""

    id: str
    email: str
    password_hash: str | None
    invitation_hash: str | None
    invitation_expires: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class MemberRecord:
    """A user's role on a tenant."""

    tenant_id: str
    email: str
    role: Role
    updated_at: datetime


_USER = ("SELECT id::text, email, password_hash, invitation_hash, invitation_expires, created_at"
         " FROM users")


def _user(row: asyncpg.Record | None) -> UserRecord | None:
    return UserRecord(**dict(row)) if row is not None else None


async def get_user(pool: asyncpg.Pool, email: str) -> UserRecord | None:
    """The user with this (lower-cased) email, or None."""
    return _user(await pool.fetchrow(f"{_USER} WHERE email = $1", email.lower()))


async def list_users(pool: asyncpg.Pool) -> list[UserRecord]:
    """Every user, by email."""
    return [UserRecord(**dict(r)) for r in await pool.fetch(f"{_USER} ORDER BY email")]


async def create_user(pool: asyncpg.Pool, email: str, *, password_hash: str | None = None,
                      invitation_hash: str | None = None, invitation_seconds: int = 0
                      ) -> UserRecord | None:
    """A new user, with a password or an invitation; None if the email is taken."""
    return _user(await pool.fetchrow(
        "INSERT INTO users (email, password_hash, invitation_hash, invitation_expires)"
        " VALUES ($1, $2, $3, CASE WHEN $3::text IS NULL THEN NULL"
        "                          ELSE now() + make_interval(secs => $4) END)"
        " ON CONFLICT (email) DO NOTHING RETURNING id::text, email, password_hash,"
        " invitation_hash, invitation_expires, created_at",
        email.lower(), password_hash, invitation_hash, invitation_seconds))


async def accept_invitation(pool: asyncpg.Pool, email: str, invitation_hash: str,
                            password_hash: str) -> UserRecord | None:
    """Set the password of an invited user whose invitation this is and is still valid."""
    return _user(await pool.fetchrow(
        "UPDATE users SET password_hash = $3, invitation_hash = NULL, invitation_expires = NULL"
        " WHERE email = $1 AND invitation_hash = $2 AND invitation_expires > now()"
        " RETURNING id::text, email, password_hash, invitation_hash, invitation_expires,"
        " created_at", email.lower(), invitation_hash, password_hash))


async def roles_of(pool: asyncpg.Pool, user_id: str) -> dict[str, Role]:
    """The user's role on each tenant it belongs to."""
    rows = await pool.fetch(
        "SELECT tenant_id, role FROM tenant_members WHERE user_id = $1::uuid", user_id)
    return {r["tenant_id"]: Role(r["role"]) for r in rows}


async def put_member(pool: asyncpg.Pool, tenant_id: str, user_id: str, role: Role
                     ) -> MemberRecord:
    """Give the user this role on the tenant (replacing any other)."""
    row = await pool.fetchrow(
        "WITH m AS (INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1, $2::uuid, $3)"
        "           ON CONFLICT (tenant_id, user_id) DO UPDATE"
        "           SET role = EXCLUDED.role, updated_at = now() RETURNING *)"
        " SELECT m.tenant_id, u.email, m.role, m.updated_at"
        " FROM m JOIN users u ON u.id = m.user_id",
        tenant_id, user_id, role.value)
    return _member(row)


def _member(row: asyncpg.Record) -> MemberRecord:
    return MemberRecord(tenant_id=row["tenant_id"], email=row["email"], role=Role(row["role"]),
                        updated_at=row["updated_at"])


async def list_members(pool: asyncpg.Pool, tenant_id: str) -> list[MemberRecord]:
    """A tenant's members, by email."""
    rows = await pool.fetch(
        "SELECT m.tenant_id, u.email, m.role, m.updated_at FROM tenant_members m"
        " JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 ORDER BY u.email", tenant_id)
    return [_member(r) for r in rows]


async def delete_member(pool: asyncpg.Pool, tenant_id: str, email: str) -> bool:
    """Take the user's role on the tenant away; False if it had none."""
    done: str = await pool.execute(
        "DELETE FROM tenant_members m USING users u"
        " WHERE m.user_id = u.id AND m.tenant_id = $1 AND u.email = $2", tenant_id, email.lower())
    return done != "DELETE 0"
