"""``POST /webhooks/{provider}/{tenant}``: verify, commit to the inbox, answer.

The answer is sent only after the delivery is committed, so anything answered 202 survives a
crash; a redelivery (same dedup key) is answered 200 and stored nothing. Normalization and
everything after it run later in Temporal, started by the relay.

What cannot be stored or processed is refused here with a 4xx, before it reaches a group-commit
batch: a tenant id the admin API would not have created (404), JSON the pipeline could not read
(too deep, an integer too long: api/json_check.py, 400), a dedup key or event name holding NUL,
which PostgreSQL text cannot hold (400). The raw body itself is stored as bytes; NUL inside its
other text is left to the normalizers, which strip it.

Slack also posts forms (``application/x-www-form-urlencoded``): slash commands and interactions
(api/slack_forms.py), signed the same way. They are checked and stored like any delivery and
answered 200 with what Slack expects: a slash command a short ephemeral acknowledgement, an
interaction an empty body. Other providers' forms stay 415.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import asyncpg
import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import slack_forms
from api.deps import AppState, get_state
from api.errors import ApiError
from api.json_check import parse_json
from api.routes.admin_tenants import TENANT_ID
from infra.observability import log_context
from workflows.ids import event_workflow_id

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, "body_too_large", f"body is larger than {limit} bytes")
        return await request.body()  # the server stops reading at Content-Length
    body = bytearray()
    async for chunk in request.stream():  # chunked: enforce the limit while reading
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "body_too_large", f"body is larger than {limit} bytes")
    return bytes(body)


_TENANT = re.compile(TENANT_ID)


def _storable(what: str, value: str | None) -> None:
    """Refuse text PostgreSQL cannot hold (NUL) before it joins a group-commit batch."""
    if value is not None and "\x00" in value:
        raise ApiError(400, "unstorable_text", f"{what} contains a NUL character")


@router.post(
    "/webhooks/{provider}/{tenant}",
    status_code=202,
    summary="Receive a signed webhook from GitHub, Slack or ClickUp",
    responses={
        200: {"description": "Redelivery of a stored delivery, a handshake answered, or a Slack "
                             "form (slash command, interaction) stored and acknowledged"},
        400: {"description": "Malformed, too deep or unstorable JSON or form, or no delivery "
                             "identity"},
        401: {"description": "Missing or bad signature, or stale timestamp"},
        404: {"description": "Unknown provider or tenant, or provider not configured"},
        413: {"description": "Body over the configured limit"},
        415: {"description": "Content-Type is not application/json (nor, for Slack, "
                             "application/x-www-form-urlencoded)"},
        503: {"description": "The inbox could not be written; retry"},
    },
)
async def receive_webhook(provider: str, tenant: str, request: Request) -> Response:
    """Verify the delivery's signature and commit it to the inbox before answering."""
    state = await get_state(request)  # not a Depends: this is the hot path
    rules = state.providers.get(provider)
    if rules is None:
        raise ApiError(
            404, "unknown_provider", f"no provider {provider!r}; use github, slack or clickup"
        )
    if _TENANT.fullmatch(tenant) is None:  # no such tenant can exist: skip the database
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}")
    body = await _read_body(request, state.settings.api.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    form = media_type == slack_forms.FORM_MEDIA_TYPE and provider == "slack"
    if media_type != "application/json" and not form:
        also = f" or {slack_forms.FORM_MEDIA_TYPE}" if provider == "slack" else ""
        raise ApiError(
            415, "unsupported_media_type",
            f"Content-Type must be application/json{also}, got {content_type or 'none'!r}",
        )
    secret = await state.signing_secrets.get(tenant, provider)
    rules.verify(request.headers, body, secret, time.time())  # before a byte is parsed
    if form:
        return await _slack_form(state, tenant, body)
    payload = parse_json(body, rules.decoder)
    handshake = rules.handshake(request.headers, payload)
    if handshake is not None:
        return _json(handshake.body, handshake.status)
    dedup_key = rules.dedup_key(request.headers, payload, body)
    event_name = rules.event_name(request.headers, payload)
    log_context.bind_delivery(tenant, provider, dedup_key)  # ids of this request's log lines
    inbox_id = await _store(state, tenant, provider, dedup_key, event_name, body)
    workflow_id = event_workflow_id(tenant, provider, dedup_key)
    if inbox_id is None:
        return _json({"status": "duplicate", "dedup_key": dedup_key, "workflow_id": workflow_id},
                     200)
    return _json({"status": "accepted", "inbox_id": inbox_id, "dedup_key": dedup_key,
                  "workflow_id": workflow_id}, 202)


async def _slack_form(state: AppState, tenant: str, body: bytes) -> Response:
    """Store a signed Slack form and answer it as Slack expects, waiting on nothing but the
    inbox: Slack gives up after 3 seconds."""
    fields = slack_forms.parse_form(body)
    if "ssl_check" in fields:  # Slack checking the certificate of a slash command's URL
        return _json({}, 200)
    if "command" in fields:
        command = slack_forms.slash_command(fields)
        known = await state.signing_secrets.slack_commands(tenant)
        if command.command not in known:
            return _json(slack_forms.unknown_command(command.command, known), 200)
        if not command.text:
            return _json(slack_forms.usage(command.command), 200)
        stored = await _store(state, tenant, "slack", command.dedup_key,
                              slack_forms.SLASH_COMMAND, body)
        return _json(slack_forms.acknowledgement(command, duplicate=stored is None), 200)
    if "payload" in fields:
        raw = fields["payload"].encode()
        event_name, dedup_key = slack_forms.interaction(
            parse_json(raw, slack_forms.INTERACTION_DECODER), raw)
        await _store(state, tenant, "slack", dedup_key, event_name, body)
        return Response(status_code=200)  # Slack reads nothing more from an interaction's answer
    raise ApiError(400, "unknown_form", "a Slack form carries command (a slash command) or "
                                        "payload (an interaction)")


async def _store(state: AppState, tenant: str, provider: str, dedup_key: str,
                 event_name: str | None, body: bytes) -> int | None:
    """Commit the delivery and ring the relay; its inbox id, None for a redelivery."""
    _storable("the delivery id", dedup_key)
    _storable("the event name", event_name)
    try:
        inbox_id = await state.inbox.insert(tenant, provider, dedup_key, event_name, body)
    except asyncpg.ForeignKeyViolationError:  # the tenant was deleted a moment ago
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}") from None
    except (asyncpg.DataError, UnicodeError) as exc:  # this delivery's own data: retrying is futile
        log.warning("inbox refused a delivery for %s/%s: %s", tenant, provider,
                    type(exc).__name__)
        raise ApiError(
            400, "unstorable_delivery", "the delivery holds data the inbox cannot store"
        ) from None
    except asyncpg.PostgresError as exc:
        log.warning("inbox write failed for %s/%s: %s", tenant, provider, type(exc).__name__)
        raise ApiError(
            503, "inbox_unavailable", "the delivery could not be stored; retry"
        ) from None
    if inbox_id is not None:
        state.doorbell.ring()
    return inbox_id


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")
