"""The OpenAPI document, made to tell the truth about errors.

FastAPI documents a route's success and its own ``HTTPValidationError`` for 422. This API answers
every error as ``{"error", "detail"}`` (api/errors.py) and some errors come from whole classes of
routes rather than from one: a NUL in any path or query string is a 422 (api/inputs.py), a body
that cannot be read is a 400, a path that names nothing is a 404, a route behind a bearer scheme
answers 401, 403 and 429 (the tenant's API quota), and any route answers 503 while the database
is gone. Those are written into the document here, once; a route adds only what is its own,
with ``responses=error_responses(409)``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.errors import ErrorBody
from api.inputs import NO_NUL

ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not UTF-8)",
    401: "Missing, invalid, expired or revoked credentials",
    403: "The credentials do not allow this",
    404: "Nothing by that name (or a path that names nothing)",
    409: "Conflicts with what exists",
    422: "Invalid input: a parameter or the body does not match this schema "
         "(this includes a NUL character in any string and an id past 2^63 - 1)",
    429: "Rate limited (the circuit breaker, or the tenant's API quota: quota_exceeded); "
         "retry after Retry-After seconds",
    502: "A remote service refused the call",
    503: "A backend (the database, Temporal, the vault or a remote) is unavailable; "
         "retry after Retry-After seconds",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                                "schema": {"type": "integer"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Route-specific error statuses, for a route's ``responses=`` (the body is filled in here)."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


class SwitchboardAPI(FastAPI):
    """FastAPI whose ``/openapi.json`` documents the errors each operation really answers."""

    def openapi(self) -> dict[str, Any]:
        """The document, built once."""
        if self.openapi_schema is None:
            self.openapi_schema = document_errors(super().openapi())
        return self.openapi_schema


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the class-wide error statuses, the one error body, and the NUL rule of parameters."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ErrorBody.model_json_schema()
    for path, item in spec["paths"].items():
        for operation in item.values():
            _document_operation(path, operation)
    return spec


def _document_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses["422"] = {"description": DESCRIPTIONS[422]}
    statuses = [503]
    if "requestBody" in operation:
        statuses.append(400)
    if "{" in path:
        statuses.append(404)
    if operation.get("security"):
        statuses += [401, 403, 429]  # 429: over the tenant's API quota
    for status in statuses:
        responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    for code, response in responses.items():
        if code[0] in "45" and "content" not in response:
            response["content"] = {"application/json": {"schema": dict(ERROR_REF)}}
        if code in ("429", "503"):
            response.setdefault("headers", {}).update(_RETRY_AFTER)
    for parameter in operation.get("parameters", []):
        if parameter.get("in") in ("path", "query"):
            _forbid_nul(parameter.get("schema", {}))


def _forbid_nul(schema: dict[str, Any]) -> None:
    """A string parameter without a pattern or an enum gets the NUL-free pattern."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "pattern" not in option and "enum" not in option:
            option["pattern"] = NO_NUL
