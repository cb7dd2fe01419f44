"""``/agents/ws``: the channel for agents that live outside Temporal.

Authenticate with the access token in ``Authorization: Bearer`` or as the subprotocol pair
``bearer, <token>``. Messages are JSON objects with a ``type``:

* agent → server: ``hello`` (``accept_work``: receive thinks and tool calls), ``ping`` (every
  30 s; answered ``pong`` and counted as a heartbeat), ``result`` / ``error`` (for a task sent to
  it, by ``task_id``), ``gateway`` (an intent to execute, with ``intent``, ``args`` and
  ``idempotency_key``; answered ``gateway_result``).
* server → agent: ``welcome``, ``pong``, ``think`` / ``run_tool`` (``task_id``, ``input``),
  ``gateway_result``, ``error``.

A text frame that is not a JSON object is answered with ``error``; a message that meets a passing
outage of the database or Temporal with ``error`` (or ``gateway_result``) and ``retryable``. The
socket stays open in both cases.

Close codes: 4401 refused token, 4403 wrong tenant or scope, 4001 kill switch, 4002 stuck agent,
1003 a binary frame (messages are text), 1013 the database is unavailable (reconnect later).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import asyncpg
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.agent_channel import KILL_CLOSE_CODE, Connection
from api.deps import AppState
from infra import presence
from infra.auth.tokens import AgentPrincipal, TokenError
from workflows.contracts import GatewayCall, ThinkOutput, ToolCall, ToolResult

log = logging.getLogger(__name__)
router = APIRouter(tags=["agents"])

UNSUPPORTED_CLOSE_CODE = 1003  # a binary frame: the protocol is JSON text
TRY_AGAIN_CLOSE_CODE = 1013  # the database is away: reconnect later
# A passing outage of the database or Temporal: the agent is told to retry, the socket stays.
_UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, RPCError)


def _token(socket: WebSocket) -> tuple[str | None, str | None]:
    """The presented token and the subprotocol to accept (``bearer``), if any."""
    scheme, _, value = socket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    protocols = [p.strip() for p in socket.headers.get("sec-websocket-protocol", "").split(",")]
    if len(protocols) == 2 and protocols[0].lower() == "bearer" and protocols[1]:
        return protocols[1], "bearer"
    return None, None


@router.websocket("/agents/ws")
async def agent_socket(socket: WebSocket, tenant: str | None = None) -> None:
    """An agent's live connection: work in, results and intents out, heartbeats."""
    state: AppState = socket.app.state.switchboard
    token, subprotocol = _token(socket)
    # Accept first so that a refusal can say why, with a close code the agent can act on.
    await socket.accept(subprotocol=subprotocol)
    agent = await _admit(state, socket, token, tenant)
    if agent is None or token is None:
        return
    conn = Connection(agent=agent, socket=socket, token=token)
    state.channel.connections.add(conn)
    try:
        # Registered before the kill-switch check, so a stop_all committed meanwhile either is
        # seen here or finds this socket in the list it closes.
        stopped, reason = await state.channel.is_stopped()
        if stopped:
            await socket.close(code=KILL_CLOSE_CODE, reason=f"kill switch: {reason}")
            return
        await conn.send({"type": "welcome", "agent_id": agent.agent_id,
                         "tenant_id": agent.tenant_id})
        while True:
            frame = await socket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if frame.get("text") is None:
                await socket.close(code=UNSUPPORTED_CLOSE_CODE,
                                   reason="messages are JSON objects in text frames")
                return
            await _serve(state, conn, frame["text"])
    except (WebSocketDisconnect, RuntimeError):
        pass
    except _UNAVAILABLE as err:  # the kill-switch check found no database
        log.warning("agent socket closed: %s", type(err).__name__)
        await _close_quietly(socket, TRY_AGAIN_CLOSE_CODE, "database unavailable; reconnect")
    finally:
        await state.channel.finish(conn)


async def _serve(state: AppState, conn: Connection, text: str) -> None:
    """Answer one text frame; a bad one or a passing outage gets an error, not a drop."""
    try:
        message = json.loads(text)
    except ValueError:
        await conn.send({"type": "error",
                         "detail": "message is not JSON: send one JSON object per text frame"})
        return
    if not isinstance(message, dict):
        await conn.send({"type": "error", "detail": "messages are JSON objects"})
        return
    try:
        await _handle(state, conn, message)
    except _UNAVAILABLE as err:
        log.warning("agent message not served: %s", type(err).__name__)
        detail = f"temporarily unavailable ({type(err).__name__}); retry"
        await conn.send({"type": "gateway_result", "id": message.get("id"), "error": detail,
                         "retryable": True} if message.get("type") == "gateway" else
                        {"type": "error", "detail": detail, "retryable": True})


async def _close_quietly(socket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await socket.close(code=code, reason=reason)


async def _admit(state: AppState, socket: WebSocket, token: str | None, tenant: str | None
                 ) -> AgentPrincipal | None:
    """The agent, or None after closing the socket with the reason it is refused."""
    refusal: tuple[int, str] | None = None
    agent: AgentPrincipal | None = None
    if token is None:
        refusal = (4401, "missing access token")
    else:
        try:
            agent = await state.tokens.verify(token)
        except TokenError as err:
            refusal = (4401, str(err))
        except _UNAVAILABLE as err:
            log.warning("agent socket refused: %s", type(err).__name__)
            refusal = (TRY_AGAIN_CLOSE_CODE, "database unavailable; reconnect")
    if agent is not None and tenant is not None and tenant != agent.tenant_id:
        refusal = (4403, "token belongs to another tenant")
    elif agent is not None and "agent" not in agent.scopes:
        refusal = (4403, "token lacks the agent scope")
    if refusal is not None:
        await socket.close(code=refusal[0], reason=refusal[1])
        return None
    return agent


async def _handle(state: AppState, conn: Connection, message: dict[str, Any]) -> None:
    kind = message.get("type")
    agent = conn.agent
    if kind == "ping":
        await conn.send({"type": "pong"})
        client = await state.temporal.get()
        await presence.heartbeat(client, state.settings.temporal.task_queue, agent.tenant_id,
                                 agent.agent_id)
    elif kind == "hello":
        if message.get("accept_work") and conn.worker is None:
            await state.channel.serve_work(conn, await state.temporal.get())
    elif kind in ("result", "error"):
        await _complete(conn, message)
    elif kind == "gateway":
        await conn.send(await _gateway(state, conn, message))
    else:
        await conn.send({"type": "error", "detail": f"unknown message type {kind!r}"})


async def _complete(conn: Connection, message: dict[str, Any]) -> None:
    handle = conn.outstanding.pop(str(message.get("task_id")), None)
    if handle is None:
        await conn.send({"type": "error", "detail": "no such task (finished, or timed out)"})
        return
    if message["type"] == "error":
        await handle.fail(ApplicationError(str(message.get("detail", "agent error"))))
        return
    output = message.get("output")
    try:
        result: ThinkOutput | ToolResult = (ToolResult.model_validate(output)
                                            if "call_id" in (output or {}) else
                                            ThinkOutput.model_validate(output))
    except ValidationError as err:
        conn.outstanding[str(message.get("task_id"))] = handle
        await conn.send({"type": "error", "detail": f"invalid result: {err}"})
        return
    await handle.complete(result)


async def _gateway(state: AppState, conn: Connection, message: dict[str, Any]
                   ) -> dict[str, Any]:
    try:  # every gateway call re-validates the token: it may have been revoked meanwhile
        agent = await state.tokens.verify(conn.token)
    except TokenError as err:
        return {"type": "gateway_result", "id": message.get("id"), "error": str(err)}
    key = str(message.get("idempotency_key") or "")
    if "gateway" not in agent.scopes or len(key) < 8:
        return {"type": "gateway_result", "id": message.get("id"),
                "error": "needs the gateway scope and an idempotency_key of 8+ characters"}
    outcome = await state.gateway.execute(GatewayCall(
        tenant_id=agent.tenant_id, agent_id=agent.agent_id, idempotency_key=f"ws/{key}",
        call=ToolCall(id=key, name=str(message.get("intent")),
                      arguments=dict(message.get("args") or {}))), source="websocket")
    return {"type": "gateway_result", "id": message.get("id"), "result": outcome.result,
            "error": outcome.error, "retryable": outcome.retryable}
