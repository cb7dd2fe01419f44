"""Agents connected over WebSocket: their sockets, their bridged work, the kill switch.

An agent outside Temporal connects to ``/agents/ws`` with its access token. If it asks for work
(``{"type": "hello", "accept_work": true}``), this process polls the agent's task queue for it:
each think or run_tool task is sent over the socket and completed asynchronously (Temporal's
async activity completion) when the agent answers. While a task is out, this process heartbeats
it; if the socket drops, the heartbeats stop and Temporal retries the task after its heartbeat
timeout, on whichever worker or socket serves the agent next.

The kill switch reaches every API process through ``NOTIFY switchboard_control``: on stop, each
process closes every agent socket it holds; a stuck agent's sockets are closed the same way
(``NOTIFY switchboard_agents``). The LISTEN survives a lost database connection: once it listens
again, the process applies a stop and closes stuck agents' sockets it may have missed meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from fastapi import WebSocket
from temporalio import activity
from temporalio.client import AsyncActivityHandle, Client
from temporalio.worker import Worker

from api.agent_protocol import CloseCode, ServerMessage, ThinkTask, ToolTask
from infra.auth.tokens import AgentPrincipal
from infra.governance import AGENTS_CHANNEL, parse_close, stuck_since
from infra.listener import Listener
from infra.store import control
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult
from workflows.ids import agent_task_queue
from workflows.names import THINK_ACTIVITY, TOOL_ACTIVITY

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 3.0
# A stuck agent's alert is stamped when its transaction starts, its NOTIFY sent at commit: the
# margin covers one that began before the listener's last check and committed after it.
CATCH_UP_MARGIN = timedelta(seconds=30)


@dataclass(eq=False)
class Connection:
    """One agent's socket and the tasks it has been sent."""

    agent: AgentPrincipal
    socket: WebSocket
    token: str = field(repr=False, default="")
    outstanding: dict[str, AsyncActivityHandle] = field(default_factory=dict)
    worker: Worker | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

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
            pool, {control.CHANNEL: self._on_control, AGENTS_CHANNEL: self._on_agents},
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
        """Apply what was NOTIFYed while no connection listened: a stop, stuck agents."""
        if (await self.is_stopped())[0]:
            await self.sever("kill switch: stop_all")
        for tenant_id, agent_id in await stuck_since(self._pool, since - CATCH_UP_MARGIN):
            await self.sever("stuck agent: paused", code=CloseCode.STUCK_AGENT,
                             agent_id=agent_id, tenant_id=tenant_id)

    def _on_control(self, payload: str) -> None:
        if payload == "stopped":
            self._spawn(self.sever("kill switch: stop_all"))

    def _on_agents(self, payload: str) -> None:
        if (stuck := parse_close(payload)) is not None:
            tenant_id, agent_id = stuck
            self._spawn(self.sever("stuck agent: paused", code=CloseCode.STUCK_AGENT,
                                   agent_id=agent_id, tenant_id=tenant_id))

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
        connections = [c for c in self.connections
                       if (agent_id is None or c.agent.agent_id == agent_id)
                       and (tenant_id is None or c.agent.tenant_id == tenant_id)]
        await asyncio.gather(*(c.socket.close(code=code, reason=reason) for c in connections),
                             return_exceptions=True)
        if connections:
            log.warning("closed %d agent socket(s): %s", len(connections), reason)

    async def serve_work(self, conn: Connection, client: Client) -> None:
        """Poll the agent's task queue for it, bridging each task over its socket."""
        bridge = _Bridge(conn, client)
        conn.worker = Worker(
            client, task_queue=agent_task_queue(conn.agent.tenant_id, conn.agent.agent_id),
            activities=[bridge.think, bridge.run_tool], max_concurrent_activity_task_polls=1)
        self._spawn(conn.worker.run())
        self._spawn(bridge.heartbeat_outstanding())

    async def finish(self, conn: Connection) -> None:
        """The socket is gone: stop polling for it (tasks out will time out and be retried)."""
        self.connections.discard(conn)
        if conn.worker is not None:
            with contextlib.suppress(Exception):
                await conn.worker.shutdown()

    async def is_stopped(self) -> tuple[bool, str | None]:
        """The kill switch as applied."""
        return await control.is_stopped(self._pool)


class _Bridge:
    """Think and run_tool activities that hand the task to the agent's socket."""

    def __init__(self, conn: Connection, client: Client) -> None:
        self._conn = conn
        self._client = client

    async def _send(self, task: Callable[[str], ThinkTask | ToolTask]) -> None:
        token = activity.info().task_token
        task_id = base64.urlsafe_b64encode(token).decode()
        self._conn.outstanding[task_id] = self._client.get_async_activity_handle(
            task_token=token)
        await self._conn.send(task(task_id))
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
        while self._conn.socket.client_state.name == "CONNECTED":
            for handle in list(self._conn.outstanding.values()):
                with contextlib.suppress(Exception):
                    await handle.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)
