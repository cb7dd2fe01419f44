"""Agents connected over WebSocket: their sockets, their bridged work, the kill switch.

An agent outside Temporal connects to ``/agents/ws`` with its access token. If it asks for work
(``{"type": "hello", "accept_work": true}``), this process polls the agent's task queue for it:
each think or run_tool task is sent over the socket and completed asynchronously (Temporal's
async activity completion) when the agent answers. While a task is out, this process heartbeats
it. Once the socket is gone (dropped by the agent or closed here), its worker stops polling and
every task still out on it is failed at once (retryable), so Temporal retries it on whichever
worker or socket serves the agent next, after the think's first retry interval (1 s) rather than
its heartbeat timeout (10 s); a result that comes too late is refused by Temporal, never counted.

A socket obeys its token. The kill switch reaches every API process through ``NOTIFY
switchboard_control``: on stop, each process closes every agent socket it holds. A stuck or
paused agent, an agent's revoked tokens and one revoked token close the matching sockets through
``NOTIFY switchboard_agents`` (infra/directory/closes.py); each socket is closed by a timer when
its token expires. The LISTEN survives a lost database connection: once it listens again, the
process applies a stop and re-checks every socket's token in one query, closing those it may have
missed meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from fastapi import WebSocket
from temporalio import activity
from temporalio.client import AsyncActivityHandle, Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.agent_protocol import CloseCode, ServerMessage, ThinkTask, ToolTask
from infra.auth.tokens import AgentPrincipal, refused
from infra.directory.closes import AGENTS_CHANNEL, SocketClose, Why
from infra.governance import kill_switch, stuck_since
from infra.listener import Listener
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult
from workflows.ids import agent_task_queue
from workflows.names import THINK_ACTIVITY, TOOL_ACTIVITY

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 3.0
# A stuck agent's alert is stamped when its transaction starts, its NOTIFY sent at commit: the
# margin covers one that began before the listener's last check and committed after it.
CATCH_UP_MARGIN = timedelta(seconds=30)

# How each close of infra/directory/closes.py reads to the agent.
CLOSES: dict[Why, tuple[CloseCode, str]] = {
    Why.STUCK: (CloseCode.STUCK_AGENT, "stuck agent: paused"),
    Why.PAUSED: (CloseCode.AGENT_PAUSED, "agent paused"),
    Why.TOKENS_REVOKED: (CloseCode.TOKEN_REVOKED, "agent's tokens revoked"),
    Why.TOKEN_REVOKED: (CloseCode.TOKEN_REVOKED, "token revoked"),
}


@dataclass(eq=False)
class Connection:
    """One agent's socket and the tasks it has been sent."""

    agent: AgentPrincipal
    socket: WebSocket
    token: str = field(repr=False, default="")
    outstanding: dict[str, AsyncActivityHandle] = field(default_factory=dict)
    worker: Worker | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False
    expiry: asyncio.Task[None] | None = None

    async def send(self, message: ServerMessage) -> None:
        """Send one message as compact JSON (sockets are not safe for concurrent sends)."""
        text = message.model_dump_json()
        async with self.send_lock:
            await self.socket.send_text(text)


class AgentChannel:
    """Every agent socket of this API process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener = Listener(
            pool, {kill_switch.CHANNEL: self._on_control, AGENTS_CHANNEL: self._on_agents},
            name="agent channel", catch_up=self._catch_up)

    async def start(self) -> None:
        """Listen for kill-switch changes and stuck agents (again after a lost connection)."""
        await self._listener.start()

    async def stop(self) -> None:
        """Close every socket and stop listening; never raises, so the pool can close after."""
        await self.sever("server shutting down", code=CloseCode.GOING_AWAY)
        await self._listener.stop()
        for task in list(self._tasks):
            task.cancel()

    async def _catch_up(self, since: datetime) -> None:
        """Apply what was NOTIFYed while no connection listened: a stop, stuck agents, and
        every token revoked or agent paused meanwhile (one query for every socket)."""
        if (await self.is_stopped())[0]:
            await self.sever("kill switch: stop_all")
        for tenant_id, agent_id in await stuck_since(self._pool, since - CATCH_UP_MARGIN):
            await self.sever("stuck agent: paused", code=CloseCode.STUCK_AGENT,
                             agent_id=agent_id, tenant_id=tenant_id)
        conns = [c for c in self.connections if not c.closed]
        verdicts = await refused(self._pool, [c.agent for c in conns])
        await asyncio.gather(*(self.close(c, *CLOSES[why])
                               for c, why in zip(conns, verdicts, strict=True) if why))

    def _on_control(self, payload: str) -> None:
        if payload == "stopped":
            self._spawn(self.sever("kill switch: stop_all"))

    def _on_agents(self, payload: str) -> None:
        if (close := SocketClose.parse(payload)) is not None:
            code, reason = CLOSES[close.why]
            self._spawn(self._close_all(
                (c for c in self.connections
                 if close.matches(c.agent.tenant_id, c.agent.agent_id, c.agent.token_id)),
                code, reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Forget a finished task; say why it failed (never "exception was never retrieved")."""
        self._tasks.discard(task)
        if not task.cancelled() and (err := task.exception()) is not None:
            log.warning("agent channel task %s failed: %s: %s", task.get_coro(),
                        type(err).__name__, err)

    async def sever(self, reason: str, code: int = CloseCode.KILL_SWITCH,
                    agent_id: str | None = None, tenant_id: str | None = None) -> None:
        """Close every agent socket of this process (or one agent's)."""
        await self._close_all(
            (c for c in self.connections
             if (agent_id is None or c.agent.agent_id == agent_id)
             and (tenant_id is None or c.agent.tenant_id == tenant_id)), code, reason)

    async def _close_all(self, connections: Iterable[Connection], code: int, reason: str) -> None:
        chosen = [c for c in connections if not c.closed]
        await asyncio.gather(*(self.close(c, code, reason) for c in chosen))
        if chosen:
            log.warning("closed %d agent socket(s): %s", len(chosen), reason)

    def register(self, conn: Connection) -> None:
        """Count the socket in (so every close finds it); close it when its token expires."""
        self.connections.add(conn)
        conn.expiry = asyncio.get_running_loop().create_task(self._expire(conn))

    async def _expire(self, conn: Connection) -> None:
        await asyncio.sleep(max(0.0, conn.agent.expires_at - time.time()))
        conn.expiry = None  # this task is ending: close() must not cancel it
        await self.close(conn, CloseCode.TOKEN_EXPIRED, "token expired")

    async def close(self, conn: Connection, code: int, reason: str) -> None:
        """Close one socket: no more work is sent to it; its tasks are retried elsewhere."""
        if conn.closed:
            return
        await self._retire(conn, f"agent socket closed: {reason}")
        with contextlib.suppress(Exception):
            await conn.socket.close(code=code, reason=reason)

    async def _retire(self, conn: Connection, why: str) -> None:
        """Stop sending the socket work and hand back what it holds (Temporal retries it)."""
        conn.closed = True
        if conn.expiry is not None:
            conn.expiry.cancel()
            conn.expiry = None
        if conn.worker is not None:
            self._spawn(conn.worker.shutdown())
        outstanding = list(conn.outstanding.values())
        conn.outstanding.clear()
        error = ApplicationError(why)  # retryable: the task goes back to the agent's queue
        await asyncio.gather(*(h.fail(error) for h in outstanding), return_exceptions=True)

    async def serve_work(self, conn: Connection, client: Client) -> bool:
        """Poll the agent's task queue for it, bridging each task over its socket.

        False if another socket of the agent already takes its work in this process: Temporal
        allows one worker per task queue and client, so that socket gets none.
        """
        if conn.closed:
            return True
        if any(c.worker is not None and not c.closed and c.agent.tenant_id == conn.agent.tenant_id
               and c.agent.agent_id == conn.agent.agent_id for c in self.connections):
            return False
        bridge = _Bridge(conn, client)
        conn.worker = Worker(
            client, task_queue=agent_task_queue(conn.agent.tenant_id, conn.agent.agent_id),
            activities=[bridge.think, bridge.run_tool], max_concurrent_activity_task_polls=1)
        self._spawn(conn.worker.run())
        self._spawn(bridge.heartbeat_outstanding())
        return True

    async def finish(self, conn: Connection) -> None:
        """The socket is gone: stop polling for it; the tasks it held are retried elsewhere."""
        self.connections.discard(conn)
        if not conn.closed:
            await self._retire(conn, "agent socket dropped")
        if conn.worker is not None:
            with contextlib.suppress(Exception):
                await conn.worker.shutdown()

    async def is_stopped(self) -> tuple[bool, str | None]:
        """The kill switch as applied."""
        return await kill_switch.is_stopped(self._pool)


class _Bridge:
    """Think and run_tool activities that hand the task to the agent's socket."""

    def __init__(self, conn: Connection, client: Client) -> None:
        self._conn = conn
        self._client = client

    async def _send(self, task: Callable[[str], ThinkTask | ToolTask]) -> None:
        if self._conn.closed:  # polled while the worker shut down: straight back to the queue
            raise ApplicationError("agent socket closed")
        token = activity.info().task_token
        task_id = base64.urlsafe_b64encode(token).decode()
        self._conn.outstanding[task_id] = self._client.get_async_activity_handle(
            task_token=token)
        try:
            await self._conn.send(task(task_id))
        except Exception:
            self._conn.outstanding.pop(task_id, None)
            raise ApplicationError("agent socket closed") from None
        activity.raise_complete_async()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Send the think to the agent; it answers with ``result``."""
        await self._send(lambda task_id: ThinkTask(task_id=task_id, input=inp))
        raise AssertionError("unreachable")  # raise_complete_async raised

    @activity.defn(name=TOOL_ACTIVITY)
    async def run_tool(self, inp: ToolInput) -> ToolResult:
        """Send the tool call to the agent; it answers with ``result``."""
        await self._send(lambda task_id: ToolTask(task_id=task_id, input=inp))
        raise AssertionError("unreachable")

    async def heartbeat_outstanding(self) -> None:
        """Keep tasks that are out with the agent alive while its socket is."""
        while not self._conn.closed and self._conn.socket.client_state.name == "CONNECTED":
            for handle in list(self._conn.outstanding.values()):
                with contextlib.suppress(Exception):
                    await handle.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)
