"""``/agents/ws``: the channel for agents that live outside Temporal.

Authenticate with the access token in ``Authorization: Bearer`` or as the subprotocol pair
``bearer, <token>``. The messages, their fields and the close codes are in api/agent_protocol.py
(and the README's "Agent socket protocol"): this module admits the agent and serves each frame.

A text frame that is not a message is answered with ``error`` (a gateway request with
``gateway_result`` under its id); a message that meets a passing outage of the database or
Temporal the same way, with ``retryable``. The socket stays open in both cases. A binary frame is
closed with 1003.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import assert_never

import asyncpg
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.agent_channel import AgentChannel, Connection
from api.agent_protocol import (
    AgentMessage,
    CloseCode,
    ErrorMessage,
    GatewayRequest,
    GatewayResult,
    Hello,
    Ping,
    Pong,
    TaskDone,
    TaskFailed,
    Unreadable,
    Welcome,
    read,
)
from api.deps import ChannelDep, GatewayDep, SettingsDep, TemporalDep, TokensDep
from infra.auth.tokens import AgentPaused, AgentPrincipal, TokenError, TokenService
from infra.gateway.service import Gateway
from infra.governance import presence
from infra.temporal import LazyClient
from workflows.contracts import GatewayCall, ToolCall

log = logging.getLogger(__name__)
router = APIRouter(tags=["agents"])

# A passing outage of the database or Temporal: the agent is told to retry, the socket stays.
_UNAVAILABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, RPCError)


@dataclass(frozen=True)
class _Uses:
    """What serving a socket uses, taken from the request's dependencies."""

    channel: AgentChannel
    tokens: TokenService
    gateway: Gateway
    temporal: LazyClient
    task_queue: str


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
async def agent_socket(socket: WebSocket, channel: ChannelDep, tokens: TokensDep,
                       gateway: GatewayDep, temporal: TemporalDep, settings: SettingsDep,
                       tenant: str | None = None) -> None:
    """An agent's live connection: work in, results and intents out, heartbeats."""
    state = _Uses(channel, tokens, gateway, temporal, settings.temporal.task_queue)
    token, subprotocol = _token(socket)
    # Accept first so that a refusal can say why, with a close code the agent can act on.
    await socket.accept(subprotocol=subprotocol)
    agent = await _admit(state, socket, token, tenant)
    if agent is None or token is None:
        return
    conn = Connection(agent=agent, socket=socket, token=token)
    state.channel.register(conn)
    try:
        # Registered before the kill-switch check and the second look at the token, so a
        # stop_all, a revocation or a pause committed meanwhile either is seen here or finds
        # this socket in the list it closes.
        stopped, reason = await state.channel.is_stopped()
        if stopped:
            await socket.close(code=CloseCode.KILL_SWITCH, reason=f"kill switch: {reason}")
            return
        if (refusal := await _refusal(state, token)) is not None:
            await state.channel.close(conn, *refusal)
            return
        await conn.send(Welcome(agent_id=agent.agent_id, tenant_id=agent.tenant_id))
        while True:
            frame = await socket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            if frame.get("text") is None:
                await socket.close(code=CloseCode.UNSUPPORTED_DATA,
                                   reason="messages are JSON objects in text frames")
                return
            await _serve(state, conn, frame["text"])
    except (WebSocketDisconnect, RuntimeError):
        pass
    except _UNAVAILABLE as err:  # the kill-switch check found no database
        log.warning("agent socket closed: %s", type(err).__name__)
        await _close_quietly(socket, CloseCode.TRY_AGAIN_LATER,
                             "database unavailable; reconnect")
    finally:
        await state.channel.finish(conn)


async def _serve(state: _Uses, conn: Connection, text: str) -> None:
    """Answer one text frame; a bad one or a passing outage gets an error, not a drop."""
    try:
        message = read(text)
    except Unreadable as bad:
        await conn.send(bad.answer)
        return
    try:
        await _handle(state, conn, message)
    except _UNAVAILABLE as err:
        log.warning("agent message not served: %s", type(err).__name__)
        detail = f"temporarily unavailable ({type(err).__name__}); retry"
        await conn.send(GatewayResult(id=message.id, error=detail, retryable=True)
                        if isinstance(message, GatewayRequest) else
                        ErrorMessage(detail=detail, retryable=True))


async def _close_quietly(socket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await socket.close(code=code, reason=reason)


async def _admit(state: _Uses, socket: WebSocket, token: str | None, tenant: str | None
                 ) -> AgentPrincipal | None:
    """The agent, or None after closing the socket with the reason it is refused."""
    refusal: tuple[int, str] | None = None
    agent: AgentPrincipal | None = None
    if token is None:
        refusal = (CloseCode.UNAUTHORIZED, "missing access token")
    else:
        try:
            agent = await state.tokens.verify(token)
        except AgentPaused as err:
            refusal = (CloseCode.AGENT_PAUSED, str(err))
        except TokenError as err:
            refusal = (CloseCode.UNAUTHORIZED, str(err))
        except _UNAVAILABLE as err:
            log.warning("agent socket refused: %s", type(err).__name__)
            refusal = (CloseCode.TRY_AGAIN_LATER, "database unavailable; reconnect")
    if agent is not None and tenant is not None and tenant != agent.tenant_id:
        refusal = (CloseCode.FORBIDDEN, "token belongs to another tenant")
    elif agent is not None and "agent" not in agent.scopes:
        refusal = (CloseCode.FORBIDDEN, "token lacks the agent scope")
    if refusal is not None:
        await socket.close(code=refusal[0], reason=refusal[1])
        return None
    return agent


async def _refusal(state: _Uses, token: str) -> tuple[int, str] | None:
    """Why an admitted token is refused now (revoked or paused since admission), or None."""
    try:
        await state.tokens.verify(token)
    except AgentPaused as err:
        return CloseCode.AGENT_PAUSED, str(err)
    except TokenError as err:
        return CloseCode.TOKEN_REVOKED, str(err)
    return None


async def _handle(state: _Uses, conn: Connection, message: AgentMessage) -> None:
    agent = conn.agent
    if isinstance(message, Ping):
        await conn.send(Pong())
        client = await state.temporal.get()
        await presence.heartbeat(client, state.task_queue, agent.tenant_id,
                                 agent.agent_id)
    elif isinstance(message, Hello):
        if message.accept_work and conn.worker is None and not await state.channel.serve_work(
                conn, await state.temporal.get()):
            await conn.send(ErrorMessage(detail=(
                "another socket of this agent takes its work on this API process; this one"
                " gets none (open one working socket per process)")))
    elif isinstance(message, TaskDone | TaskFailed):
        await _complete(conn, message)
    elif isinstance(message, GatewayRequest):
        await conn.send(await _gateway(state, conn, message))
    else:
        assert_never(message)


async def _complete(conn: Connection, message: TaskDone | TaskFailed) -> None:
    handle = conn.outstanding.pop(message.task_id, None)
    if handle is None:
        await conn.send(ErrorMessage(detail="no such task (finished, or timed out)"))
    elif isinstance(message, TaskFailed):
        await handle.fail(ApplicationError(message.detail))
    else:
        await handle.complete(message.output)


async def _gateway(state: _Uses, conn: Connection, message: GatewayRequest) -> GatewayResult:
    try:  # every gateway call re-validates the token: it may have been revoked meanwhile
        agent = await state.tokens.verify(conn.token)
    except TokenError as err:
        return GatewayResult(id=message.id, error=str(err))
    key = message.idempotency_key or ""
    if "gateway" not in agent.scopes or len(key) < 8:
        return GatewayResult(id=message.id, error=(
            "needs the gateway scope and an idempotency_key of 8+ characters"))
    outcome = await state.gateway.execute(GatewayCall(
        tenant_id=agent.tenant_id, agent_id=agent.agent_id, idempotency_key=f"ws/{key}",
        call=ToolCall(id=key, name=message.intent, arguments=message.args or {})),
        source="websocket")
    return GatewayResult.of(message.id, outcome)
