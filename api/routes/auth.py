"""Users' own door: register, log in, refresh, log out, and who am I (``/auth``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, UsersDep
from api.errors import ApiError
from api.openapi import error_responses
from infra.users.service import AuthError

router = APIRouter(prefix="/auth", tags=["auth"])

EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}$"
_STATUS = {"unauthorized": 401, "registration_closed": 403, "invalid_invitation": 403,
           "user_exists": 409}


def api_error(err: AuthError) -> ApiError:
    """The HTTP answer to a refusal of infra/users."""
    return ApiError(_STATUS.get(err.code, 400), err.code, err.detail)


class Credentials(BaseModel):
    """An email and its password."""

    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=8, max_length=256, pattern=r"^[^\x00]*$")


class Registration(Credentials):
    """A new account's email and password, with the invitation from POST /admin/users if any."""

    invitation: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00]*$")


class RefreshBody(BaseModel):
    """A refresh token from a login or an earlier refresh."""

    refresh_token: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")


class Tokens(BaseModel):
    """A user's access token (15 minutes by default) and its single-use refresh token."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class User(BaseModel):
    """A user account."""

    id: str
    email: str


class Me(BaseModel):
    """Who the caller is and its role per tenant (``super_admin``: every tenant)."""

    kind: str
    actor: str
    email: str | None
    via: str
    super_admin: bool
    roles: dict[str, str]


@router.post("/register", status_code=201, summary="Create an account (if open, or invited)",
             responses=error_responses(403, 409))
async def register(body: Registration, users: UsersDep) -> User:
    """Open to anyone only with SWITCHBOARD_AUTH_REGISTRATION on; else with an invitation."""
    try:
        user = await users.register(body.email, body.password, body.invitation)
    except AuthError as err:
        raise api_error(err) from None
    return User(id=user.id, email=user.email)


@router.post("/login", summary="Log in with email and password", responses=error_responses(401))
async def login(body: Credentials, users: UsersDep) -> Tokens:
    """An access token and a refresh token; 401 alike for a wrong password or unknown email."""
    try:
        pair = await users.login(body.email, body.password)
    except AuthError as err:
        raise api_error(err) from None
    return Tokens(**pair.__dict__)


@router.post("/refresh", summary="Rotate a refresh token", responses=error_responses(401))
async def refresh(body: RefreshBody, users: UsersDep) -> Tokens:
    """A new pair; the old refresh token is spent, and spending it again ends the session."""
    try:
        pair = await users.refresh(body.refresh_token)
    except AuthError as err:
        raise api_error(err) from None
    return Tokens(**pair.__dict__)


@router.post("/logout", status_code=204, summary="End the session of a refresh token")
async def logout(body: RefreshBody, users: UsersDep) -> Response:
    """Revokes the session: its refresh token and its access tokens stop working (204 always)."""
    await users.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/me", summary="The caller and its roles")
async def me(principal: PrincipalDep) -> Me:
    """Works with a user token, an OIDC token or the bootstrap admin token."""
    return Me(kind=principal.kind, actor=principal.actor, email=principal.email,
              via=principal.via, super_admin=principal.is_bootstrap,
              roles={t: r.value for t, r in sorted(principal.roles.items())})
