"""Input PostgreSQL cannot store or compare, refused with a 422 before it reaches the database.

PostgreSQL ``text`` cannot hold a NUL character (asyncpg raises
``CharacterNotInRepertoireError``) and ``bigint`` stops at 2^63 - 1 (asyncpg raises
``DataError`` or ``OverflowError``). Both used to surface as 500s; here they become a 422 in the
API's error shape, at the edge:

* ``RefuseNul``: one ASGI middleware for every path and query string, whatever the route (but
  the webhook door, which answers providers in its own contract and checks its own path).
* ``Text``: the string type of request bodies (its schema carries the NUL-free ``pattern``).
* ``nul_free``: the same rule over free-form JSON (gateway ``args``, an attached event).
* ``INT64_MAX``: the bound of every id taken from a path or a query.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.gateway.registry import builtin_intents

INT64_MAX = 2**63 - 1
NO_NUL = r"^[^\x00]*$"
NUL_MESSAGE = "must not contain a NUL (\\x00) character"


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


class _NoNulPattern:
    """Documents the rule as a JSON-schema ``pattern`` unless the field has its own."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        value = handler(schema)
        value.setdefault("pattern", NO_NUL)
        return value


Text = Annotated[str, AfterValidator(_refuse_nul), _NoNulPattern()]


def nul_free(value: Any) -> Any:
    """``value`` unchanged if no string in it (key or value, at any depth) holds a NUL."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _refuse_nul(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


INTENTS = tuple(sorted(builtin_intents()))


def _known_intent(name: str) -> str:
    if name not in INTENTS:
        raise ValueError(f"unknown intent {name!r}; known: {', '.join(INTENTS)}")
    return name


class _IntentEnum:
    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(INTENTS)}


IntentName = Annotated[str, AfterValidator(_known_intent), _IntentEnum()]


def _has_nul(scope: Scope) -> str | None:
    """Where a request carries a NUL: ``path``, ``query`` or nowhere (None)."""
    if "\x00" in scope["path"]:
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


class RefuseNul:
    """ASGI middleware: a NUL in the path or the query string is answered 422 at once."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt  # path prefixes whose routes check their own input

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or refuse it before any route (or database) sees it."""
        checked = scope["type"] == "http" and not scope["path"].startswith(self.exempt)
        where = _has_nul(scope) if checked else None
        if where is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "invalid_request",
                           "detail": f"{where}: {NUL_MESSAGE}"}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
