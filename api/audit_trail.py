"""The audit hook: one ASGI middleware that records who did what, as the answer is sent.

It sees every request to the admin, OAuth, auth, gateway and context doors and records (one
INSERT into infra/audit/) each write under ``/admin``, ``/oauth`` and ``/auth`` (whatever its
outcome: token issue, revocation, logins, the kill switch included) and each refusal
(401/403/404) on any of them. The row is written before the last byte of the answer goes out,
so whoever got the answer can read the row; a failed write is logged, never raised. Webhooks are
not recorded here: the inbox is their record. The gateway's own calls are in its log.

The actor is the principal the auth dependency put on ``request.state.principal`` (``actor``,
``role``); otherwise the static admin token is ``bootstrap-admin`` (super-admin); an agent token
the route accepted (any answer but 401) names its agent; anyone else is ``anonymous``, with the
client id or email they claimed in ``detail``. Request fields are copied into ``detail`` only
from a list of names that never carry secrets (``SAFE_FIELDS``); secret values never are.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.audit import AuditEntry, record
from infra.auth.tokens import parse_client_id

DOORS = ("/admin", "/oauth", "/auth", "/gateway", "/context")
WRITE_DOORS = ("/admin", "/oauth", "/auth")
AGENT_DOORS = ("/oauth/revoke", "/gateway", "/context")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSALS = frozenset({401, 403, 404})
# Request fields worth keeping that can never hold a secret (values, passwords, client secrets,
# tokens are not here, so they are never copied).
SAFE_FIELDS = frozenset({
    "id", "name", "status", "role", "plan", "requests_per_minute", "action", "reason", "intent",
    "resource_pattern", "default_agents", "admin_channel", "email", "grant_type", "scope",
    "client_id", "messages_per_minute", "sync_events_per_hour", "duplicate_window_seconds",
})
# Last path segments that are verbs on the thing before them, not collections.
VERB_SEGMENTS = frozenset({"credentials", "revoke-tokens", "replay", "pause", "resume", "close"})
_VERBS = {"POST": "create", "PUT": "set", "PATCH": "update", "DELETE": "delete", "GET": "read"}
_CAPTURE = 16_384
# How infra/users says a spent refresh token came back (and so ended its session).
REUSED = "already used"


def _singular(word: str) -> str:
    word = word.replace("-", "_")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses"):
        return word[:-2]
    return word.removesuffix("s")


def action_of(method: str, template: str, fields: dict[str, Any]) -> str:
    """A stable action name from the route: ``agent.update``, ``oauth.token``, ``secret.set``."""
    parts = [p for p in template.split("/") if p]
    literals = [p for p in parts if not p.startswith("{")]
    if literals[0] in ("oauth", "auth", "gateway", "context"):
        return ".".join(p.replace("-", "_") for p in literals)
    words = literals[1:] or literals
    last = words[-1]
    if last == "kill-switch" and method == "POST" and isinstance(fields.get("action"), str):
        return f"kill_switch.{fields['action']}"
    if last in VERB_SEGMENTS and len(words) > 1:
        return f"{_singular(words[-2])}.{last.replace('-', '_')}"
    noun = _singular(last)
    if noun == "agent" and method == "PATCH" and fields.get("status") in ("paused", "active"):
        return "agent.pause" if fields["status"] == "paused" else "agent.resume"
    return f"{noun}.{_VERBS.get(method, method.lower())}"


def safe_fields(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The fields of a request that may be kept: listed names, short scalar values."""
    kept: dict[str, Any] = {}
    for name, value in pairs:
        if name not in SAFE_FIELDS:
            continue
        if isinstance(value, str):
            kept[name] = value[:200]
        elif isinstance(value, bool | int | float) or value is None:
            kept[name] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            kept[name] = [v[:100] for v in value[:20]]
    return kept


def _body_fields(headers: Headers, body: bytes) -> dict[str, Any]:
    kind = headers.get("content-type", "").split(";")[0].strip()
    try:
        if kind == "application/x-www-form-urlencoded":
            return safe_fields(parse_qsl(body.decode(errors="replace")))
        if body:
            parsed = json.loads(body)
            return safe_fields(parsed.items()) if isinstance(parsed, dict) else {}
    except ValueError:
        pass
    return {}


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _basic_client(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value).decode().partition(":")[0][:200]
    except (binascii.Error, UnicodeDecodeError):
        return None


def _agent_claims(token: str) -> tuple[str, str] | None:
    """(tenant, agent) a token names; read only once the route accepted it (it verified it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    tenant, agent = claims.get("tenant"), claims.get("agent", claims.get("sub"))
    if isinstance(tenant, str) and isinstance(agent, str):
        return tenant, agent.removeprefix(f"{tenant}.")
    return None


def entry_for(scope: Scope, headers: Headers, status: int, fields: dict[str, Any],
              error: tuple[str | None, str | None]) -> AuditEntry:
    """The audit entry for one finished request (pure: all it needs is passed in)."""
    method, path, template = scope["method"], scope["path"], scope["route"].path
    params: dict[str, str] = scope.get("path_params", {})
    tenant = params.get("tenant_id")
    outcome = "ok" if status < 400 else f"{'refused' if status < 500 else 'error'}:{status}"
    detail: dict[str, Any] = {"method": method, "path": path, "status": status, **fields}
    code, reason = error
    if code:
        detail["error"] = code
    action = action_of(method, template, fields)
    if status == 401 and template.startswith("/auth/") and reason:
        # infra/users' refusals are fixed sentences (never the input): keep why
        detail["reason"] = reason
        if template == "/auth/refresh" and REUSED in reason:
            action = "auth.refresh_reuse"
    actor, role, agent = "anonymous", None, None
    principal = scope.get("state", {}).get("principal")
    token = _bearer(headers)
    if principal is not None and getattr(principal, "actor", None):
        actor, role = str(principal.actor), getattr(principal, "role", None)
        if role is None and status in (403, 404):
            tenant = None  # no role on the path's tenant: its readers must not learn of them
    elif token is not None and _is_admin_token(scope, token):
        actor, role = "bootstrap-admin", "super-admin"
    elif token is not None and path.startswith(AGENT_DOORS) and status != 401 and (
            named := _agent_claims(token)):
        tenant, agent = named
        actor, role = f"agent:{tenant}/{agent}", "agent"
    claimed = fields.get("client_id") or _basic_client(headers)
    if template == "/oauth/token" and claimed:
        detail["client_id"] = claimed
        if (client := parse_client_id(claimed)) is not None:
            tenant = client[0]
            if status < 400:
                agent = client[1]
                actor, role = f"agent:{client[0]}/{client[1]}", "agent"
    if template.startswith("/auth/") and status < 400 and isinstance(fields.get("email"), str):
        actor = fields["email"] if actor == "anonymous" else actor
    targets = [v for k, v in params.items() if k != "tenant_id"]
    named_in_body = fields.get("id") or fields.get("email") or detail.get("client_id")
    if method == "POST" and named_in_body and not template.endswith("}"):
        targets.append(str(named_in_body))
    target = "/".join(targets) or (f"{tenant}/{agent}" if agent else tenant)
    return AuditEntry(actor=actor, role=role, action=action,
                      outcome=outcome, tenant_id=tenant, agent_id=agent, target=target,
                      detail=detail)


def _is_admin_token(scope: Scope, token: str) -> bool:
    expected = scope["app"].state.switchboard.settings.admin_token
    return expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode())


def _error(body: bytes) -> tuple[str | None, str | None]:
    """The ``error`` code and ``detail`` of a refusal's body (the detail kept only for /auth)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    code, detail = parsed.get("error"), parsed.get("detail")
    return (code[:100] if isinstance(code, str) else None,
            detail[:200] if isinstance(detail, str) else None)


class AuditTrail:
    """ASGI middleware recording admin writes and refusals (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; record it before its answer's last chunk is sent."""
        if scope["type"] != "http" or not scope["path"].startswith(DOORS):
            await self.app(scope, receive, send)
            return
        write = scope["method"] in WRITES and scope["path"].startswith(WRITE_DOORS)
        request_body, answer = bytearray(), bytearray()
        status = 0
        recorded = False

        async def tee_receive() -> Message:
            message = await receive()
            if write and message["type"] == "http.request" and len(request_body) < _CAPTURE:
                request_body.extend(message.get("body", b""))
            return message

        async def finish(final_status: int) -> None:
            nonlocal recorded
            recorded = True
            if scope.get("route") is None or not (write or final_status in REFUSALS):
                return
            headers = Headers(scope=scope)
            fields = _body_fields(headers, bytes(request_body)) if write else {}
            fields.update(safe_fields(parse_qsl(scope.get("query_string", b"").decode(
                errors="replace"))))
            error = _error(bytes(answer)) if final_status >= 400 else (None, None)
            entry = entry_for(scope, headers, final_status, fields, error)
            await record(scope["app"].state.switchboard.pool, entry)

        async def tee_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if status >= 400 and len(answer) < 2048:
                    answer.extend(message.get("body", b""))
                if not message.get("more_body", False) and not recorded:
                    await finish(status)
            await send(message)

        try:
            await self.app(scope, tee_receive, tee_send)
        except Exception:
            if not recorded:
                await finish(500)
            raise
