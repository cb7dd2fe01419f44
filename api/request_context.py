"""One ASGI middleware: each request's id for the logs, and the webhook counters for /metrics.

The request id is the caller's ``X-Request-ID`` when it is a short token (a proxy's), else a
fresh one; it is sent back in ``X-Request-ID`` and carried by every log line written while the
request is handled, with the tenant its path names (``/webhooks/{provider}/{tenant}``,
``/admin/tenants/{tenant}/...``). Answers to ``/webhooks/...`` are counted by provider and status.
Pure ASGI, not ``BaseHTTPMiddleware``: the webhook door is the hot path (a few microseconds here).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.observability import log_context, metrics

log = logging.getLogger("switchboard.request")

HEADER = b"x-request-id"
# A fresh request id: this process's random prefix and a counter, unique across processes
# without a uuid4 per request (the webhook door's hot path).
_PROCESS = secrets.token_hex(8)
_COUNTER = itertools.count(1)
_GIVEN = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def _tenant(path: str) -> str | None:
    parts = path.split("/", 5)
    if len(parts) > 3 and parts[1] == "webhooks":
        return parts[3] or None
    if len(parts) > 3 and parts[1] == "admin" and parts[2] == "tenants":
        return parts[3] or None
    return None


class RequestContext:
    """Binds the request id and tenant for the logs; counts webhook answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request with its ids bound."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), None)
        request_id = (given.decode() if given is not None and _GIVEN.fullmatch(given)
                      else f"{_PROCESS}{next(_COUNTER):08x}")
        path: str = scope["path"]
        log_context.bind_request(request_id, _tenant(path))
        provider = metrics.webhook_provider(path)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if provider is not None:
                metrics.count_webhook(provider, status, seconds)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s answered %d in %.1f ms", scope["method"], path, status,
                          seconds * 1000)
