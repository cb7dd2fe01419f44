"""``POST /codec/decode`` and ``/codec/encode``: Temporal's codec-server protocol, so that an
admin can read sealed payloads in the Temporal UI or CLI (infra/codec.py seals them).

The body and the answer are ``{"payloads": [{"metadata": {name: base64}, "data": base64}]}``
(the JSON form of ``temporal.api.common.v1.Payloads``). Only the bootstrap super-admin may call
it: a payload names no tenant, so a tenant's admin could otherwise read every tenant's events.
Browsers may call it from the Temporal UI's origins (``SWITCHBOARD_PAYLOAD_UI_ORIGINS``).

One exception, for the embedded stack only: the Temporal UI cannot send our admin token (it
sends its own login's token, or none), so ``switchboard up`` points its dev server's UI here and
``decode`` answers without a token when dev mode is on, the request comes from loopback and its
``Origin`` is an allowed UI origin on loopback (``embedded_ui_call``). Anything else needs the
admin token, as the README's "Payload encryption" explains.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.deps import (
    BearerCredentials,
    PoolDep,
    SettingsDep,
    _admin_bearer,
    _StateDep,
    authenticate,
    require_admin,
)
from api.errors import ApiError
from infra.codec import AesGcmCodec, PayloadKeyError, build_codec
from infra.settings import Settings
from infra.users.roles import Principal

router = APIRouter(tags=["codec"])
PREFIX = "/codec/"


class CodecPayload(BaseModel):
    """One payload: metadata values and data in base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class CodecPayloads(BaseModel):
    """Payloads to encode or decode, in order."""

    payloads: list[CodecPayload]


def _to_proto(payload: CodecPayload) -> Payload:
    try:
        return Payload(metadata={k: base64.b64decode(v, validate=True)
                                 for k, v in payload.metadata.items()},
                       data=base64.b64decode(payload.data, validate=True))
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_payload", "metadata values and data must be base64") from None


def _from_proto(payload: Payload) -> CodecPayload:
    return CodecPayload(metadata={k: base64.b64encode(v).decode()
                                  for k, v in payload.metadata.items()},
                        data=base64.b64encode(payload.data).decode())


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def embedded_ui_call(settings: Settings, connection: HTTPConnection) -> bool:
    """Whether a request is the embedded Temporal UI's decode, which needs no token: dev mode
    on, the peer on loopback (uvicorn puts a trusted proxy's ``X-Forwarded-For`` client there),
    and an ``Origin`` both allowed and on loopback."""
    origin = connection.headers.get("origin", "")
    if not settings.dev_mode or origin not in settings.temporal.payload.ui_origins:
        return False
    peer = connection.client.host if connection.client else None
    return _loopback(urlsplit(origin).hostname) and _loopback(peer)


async def codec_caller(
    operation: Literal["decode", "encode"], request: Request, settings: SettingsDep,
    state: _StateDep, pool: PoolDep,
    credentials: Annotated[BearerCredentials, Depends(_admin_bearer)],
) -> Principal | None:
    """The super-admin (401 without a token, 403 for anyone else); None for the embedded
    UI's tokenless decode (``embedded_ui_call``)."""
    if credentials is None and operation == "decode" and embedded_ui_call(settings, request):
        return None
    principal = await authenticate(request, settings, state, credentials)
    return await require_admin(request, principal, pool)


@router.post(
    "/codec/{operation}",
    summary="Decode (or encode) Temporal payloads for the Temporal UI/CLI (super-admin)",
    responses={400: {"description": "A payload is not base64, or cannot be opened with "
                                    "the configured keys"},
               401: {"description": "No or bad admin token (a tokenless decode is taken only "
                                    "from the embedded Temporal UI in dev mode)"},
               403: {"description": "Not the bootstrap super-admin"}},
)
async def codec(operation: Literal["decode", "encode"], body: CodecPayloads, request: Request,
                _: Annotated[Principal | None, Depends(codec_caller)]) -> CodecPayloads:
    """Open sealed payloads (``decode``) or seal plain ones (``encode``); without configured
    keys both answer the payloads unchanged."""
    payloads = [_to_proto(p) for p in body.payloads]
    sealer: AesGcmCodec | None = request.app.state.payload_codec
    if sealer is not None:
        try:
            payloads = await (sealer.decode(payloads) if operation == "decode"
                              else sealer.encode(payloads))
        except PayloadKeyError as err:
            raise ApiError(400, "undecodable_payload", str(err)) from None
    return CodecPayloads(payloads=[_from_proto(p) for p in payloads])


class CodecCors:
    """CORS for ``/codec/`` only: the Temporal UI calls it from its own origin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app, allow_origins=origins, allow_methods=["POST"], allow_credentials=True,
            allow_headers=["authorization", "content-type", "x-namespace"], max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route codec requests through CORS, everything else straight on."""
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the codec routes, their CORS and the process's codec to ``app``."""
    app.state.payload_codec = build_codec(settings.temporal.payload)
    app.add_middleware(CodecCors, origins=settings.temporal.payload.ui_origins)
    app.include_router(router)
