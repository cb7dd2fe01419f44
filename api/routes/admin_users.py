"""Admin: users (the super-admin's) and a tenant's members (its owners')."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep, UsersDep
from api.errors import ApiError
from api.openapi import error_responses
from api.routes.auth import EMAIL, User, api_error
from infra.directory import tenants
from infra.users import store
from infra.users.roles import Role
from infra.users.service import AuthError

router = APIRouter(prefix="/admin", tags=["admin: users"], dependencies=[AdminDep])

EmailPath = Annotated[str, Path(pattern=EMAIL, max_length=254)]


class UserCreate(BaseModel):
    """A user with a password, or (no password) an invitation to set one at /auth/register."""

    email: str = Field(pattern=EMAIL, max_length=254)
    password: str | None = Field(default=None, min_length=8, max_length=256,
                                 pattern=r"^[^\x00]*$")


class UserCreated(User):
    """The new user; ``invitation`` (shown once) when it was invited."""

    invitation: str | None = None


class UserView(User):
    """A user as listed: ``invited`` until it has set its password."""

    invited: bool
    created_at: datetime


class MemberBody(BaseModel):
    """The user's role on the tenant."""

    role: Role


class Member(BaseModel):
    """A user's role on a tenant."""

    email: str
    role: Role
    updated_at: datetime


@router.post("/users", status_code=201, summary="Create or invite a user",
             responses=error_responses(409))
async def create_user(body: UserCreate, users: UsersDep) -> UserCreated:
    """The super-admin's; without a password the answer carries a one-time invitation."""
    try:
        user, invitation = await users.create(body.email, body.password)
    except AuthError as err:
        raise api_error(err) from None
    return UserCreated(id=user.id, email=user.email, invitation=invitation)


@router.get("/users", summary="List users")
async def list_users(pool: PoolDep) -> list[UserView]:
    """Every user, by email."""
    return [UserView(id=u.id, email=u.email, invited=u.password_hash is None,
                     created_at=u.created_at) for u in await store.list_users(pool)]


async def _require_tenant(pool: PoolDep, tenant_id: str) -> None:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")


@router.put("/tenants/{tenant_id}/members/{email}", summary="Give a user a role on the tenant")
async def put_member(tenant_id: str, email: EmailPath, body: MemberBody, pool: PoolDep
                     ) -> Member:
    """Owners of the tenant (and the super-admin); the user must exist (POST /admin/users)."""
    await _require_tenant(pool, tenant_id)
    user = await store.get_user(pool, email)
    if user is None:
        raise ApiError(404, "unknown_user", f"no user {email.lower()!r}")
    member = await store.put_member(pool, tenant_id, user.id, body.role)
    return Member(email=member.email, role=member.role, updated_at=member.updated_at)


@router.get("/tenants/{tenant_id}/members", summary="List the tenant's members")
async def list_members(tenant_id: str, pool: PoolDep) -> list[Member]:
    """Its users and their roles, by email."""
    await _require_tenant(pool, tenant_id)
    return [Member(email=m.email, role=m.role, updated_at=m.updated_at)
            for m in await store.list_members(pool, tenant_id)]


@router.delete("/tenants/{tenant_id}/members/{email}", status_code=204,
               summary="Take a user's role on the tenant away")
async def delete_member(tenant_id: str, email: EmailPath, pool: PoolDep) -> Response:
    """404 if the user had no role there."""
    await _require_tenant(pool, tenant_id)
    if not await store.delete_member(pool, tenant_id, email):
        raise ApiError(404, "unknown_member", f"{email.lower()!r} is no member of {tenant_id!r}")
    return Response(status_code=204)
