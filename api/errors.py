"""One error shape for the whole API: ``{"error": <code>, "detail": <what was wrong>}``."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)

# What asyncpg raises when the database goes away under a request: refused or lost connections,
# a shutdown or crash of the server (OperatorInterventionError: 57P01-57P03), a client whose
# connection was closed mid-operation (InternalClientError), a server out of connections.
BACKEND_DOWN: tuple[type[Exception], ...] = (
    OSError, asyncpg.InterfaceError, asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class ErrorBody(BaseModel):
    """Every error the API answers (OAuth's token endpoint keeps RFC 6749's own shape)."""

    model_config = ConfigDict(title="Error")

    error: str = Field(description="A stable code, e.g. unknown_tenant or invalid_request")
    detail: str = Field(description="What was wrong, precisely")


class ApiError(Exception):
    """A client-facing error with its HTTP status, a stable code and a precise message."""

    def __init__(self, status: int, code: str, detail: str,
                 retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        headers = {"WWW-Authenticate": "Bearer"} if self.code == "unauthorized" else {}
        if self.status == 503 or self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after or 5)
        return JSONResponse(
            {"error": self.code, "detail": self.detail}, status_code=self.status, headers=headers
        )


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media"}


def install_error_handlers(app: FastAPI) -> None:
    """Make framework errors answer in the same shape as ours."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _CODES.get(exc.status_code, "error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path's methods
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            {"error": code, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=headers or None,
        )

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_request", "detail": "; ".join(problems)}, status_code=422
        )

    async def on_backend_down(request: Request, exc: Exception) -> JSONResponse:
        # The database went away mid-request: nothing was stored, the sender should retry.
        log.warning("%s %s: backend unavailable: %s", request.method, request.url.path,
                    type(exc).__name__)
        return JSONResponse(
            {"error": "service_unavailable", "detail": "the database is unavailable; retry"},
            status_code=503, headers={"Retry-After": "5"},
        )

    for exc_type in BACKEND_DOWN:
        app.add_exception_handler(exc_type, on_backend_down)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def allowed_methods(request: Request) -> str:
    """The ``Allow`` value for a request's path: every method some route takes on it."""
    routes = request.app.router.routes
    allowed = [m for m in METHODS
               if any(route.matches({**request.scope, "method": m})[0] is Match.FULL
                      for route in routes)]
    return ", ".join(allowed)
