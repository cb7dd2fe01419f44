"""A server span for each webhook delivery, the first span of the delivery's trace.

Installed only when the process traces (infra/tracing.py). The span is made when the answer is
known, so it can carry the delivery's own trace id, derived from the workflow id the door
answers (``delivery_root``): the relay's ``StartWorkflow`` span, in another task or process,
derives the same parent and the delivery's trace is one tree from the request to the agents'
thinks. A redelivery's span is a child of the first delivery's; a refused request (4xx) gets a
trace of its own. Attributes: method, route, status, provider, tenant and workflow id.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra import tracing

PREFIX = "/webhooks/"
ROUTE = "/webhooks/{provider}/{tenant}"
_MAX_CAPTURE = 4096  # the door's JSON answers are far shorter


class WebhookSpans:
    """Wraps the app; traces ``POST /webhooks/...`` requests."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record its span once answered."""
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self._app(scope, receive, send)
            return
        started = time.time_ns()
        status = 500
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(body) < _MAX_CAPTURE:
                body.extend(message.get("body", b"")[:_MAX_CAPTURE])
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            _record(scope, started, status, bytes(body))


def _record(scope: Scope, started: int, status: int, body: bytes) -> None:
    parts = scope["path"].split("/")
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"], "http.route": ROUTE,
        "http.response.status_code": status,
        "switchboard.provider": parts[2] if len(parts) > 2 else "",
        "switchboard.tenant": parts[3] if len(parts) > 3 else "",
    }
    workflow_id = _workflow_id(body) if status in (200, 202) else None
    name = f"{scope['method']} {ROUTE}"
    tracer = tracing.tracer()
    if workflow_id is None:
        span = tracer.start_span(name, kind=trace.SpanKind.SERVER, attributes=attributes,
                                 start_time=started)
    else:
        attributes["switchboard.workflow_id"] = workflow_id
        if status == 202:  # the delivery's own span: its ids come from the workflow id
            with tracing.delivery_root(workflow_id):
                span = tracer.start_span(name, kind=trace.SpanKind.SERVER,
                                         attributes=attributes, start_time=started,
                                         context=trace.set_span_in_context(trace.INVALID_SPAN))
        else:  # a redelivery, under the first delivery's span
            span = tracer.start_span(name, kind=trace.SpanKind.SERVER, attributes=attributes,
                                     start_time=started,
                                     context=tracing.delivery_context(workflow_id))
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)
    span.end()


def _workflow_id(body: bytes) -> str | None:
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    found = answer.get("workflow_id") if isinstance(answer, dict) else None
    return found if isinstance(found, str) else None
