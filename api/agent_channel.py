"""Agents connected over WebSocket: their sockets, their bridged work, the kill switch.

An agent outside Temporal connects to ``/agents/ws`` with its access token. If it asks for work
(``{"type": "hello", "accept_work": true}``), this process polls the agent's task queue for it:
each think or run_tool task is sent over the socket and completed asynchronously (Temporal's
async activity completion) when the agent answers. While a task is out, this process heartbeats
it; if the socket drops, the heartbeats stop and Temporal retries the task after its heartbeat
timeout, on whichever worker or socket serves the agent next.

The kill switch reaches every API process through ``NOTIFY switchboard_control``: on stop, each
process closes every agent socket it holds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import WebSocket
from temporalio import activity
from temporalio.client import AsyncActivityHandle, Client
from temporalio.worker import Worker

from infra.auth.tokens import AgentPrincipal
from infra.governance import AGENTS_CHANNEL
from infra.store import control
from workflows.agent_run import THINK_ACTIVITY, TOOL_ACTIVITY
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult
from workflows.ids import agent_task_queue

log = logging.getLogger(__name__)

KILL_CLOSE_CODE = 4001
STUCK_CLOSE_CODE = 4002
HEARTBEAT_EVERY = 3.0


@dataclass(eq=False)
class Connection:
    """One agent's socket and the tasks it has been sent."""

    agent: AgentPrincipal
    socket: WebSocket
    token: str = field(repr=False, default="")
    outstanding: dict[str, AsyncActivityHandle] = field(default_factory=dict)
    worker: Worker | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message (sockets are not safe for concurrent sends)."""
        async with self.send_lock:
            await self.socket.send_json(message)


class AgentChannel:
    """Every agent socket of this API process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.connections: set[Connection] = set()
        self._listener: asyncpg.Connection | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen for kill-switch changes (and keep listening if the connection drops)."""
        await self._listen()
        watch = asyncio.create_task(self._watch())
        self._tasks.add(watch)
        watch.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(control.CHANNEL, self._on_control)
        await self._listener.add_listener(AGENTS_CHANNEL, self._on_agents)

    async def _watch(self) -> None:
        """Re-listen after a lost connection, and apply a stop that happened meanwhile."""
        while True:
            await asyncio.sleep(2.0)
            if self._listener is not None and not self._listener.is_closed():
                continue
            try:
                if self._listener is not None:
                    with contextlib.suppress(Exception):
                        await self._pool.release(self._listener)
                await self._listen()
                if (await self.is_stopped())[0]:
                    await self.sever("kill switch: stop_all")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                log.warning("agent channel cannot listen: %s", type(err).__name__)

    async def stop(self) -> None:
        """Close every socket and stop listening."""
        await self.sever("server shutting down", code=1001)
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.remove_listener(control.CHANNEL, self._on_control)
            await self._listener.remove_listener(AGENTS_CHANNEL, self._on_agents)
            await self._pool.release(self._listener)

    def _on_control(self, *args: object) -> None:
        if args and args[-1] == "stopped":
            task = asyncio.get_running_loop().create_task(self.sever("kill switch: stop_all"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _on_agents(self, *args: object) -> None:
        payload = str(args[-1]) if args else ""
        if payload.startswith("close:"):
            agent_id = payload.removeprefix("close:")
            task = asyncio.get_running_loop().create_task(
                self.sever("stuck agent: paused", code=STUCK_CLOSE_CODE, agent_id=agent_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def sever(self, reason: str, code: int = KILL_CLOSE_CODE,
                    agent_id: str | None = None) -> None:
        """Close every agent socket of this process (or one agent's)."""
        connections = [c for c in self.connections
                       if agent_id is None or c.agent.agent_id == agent_id]
        await asyncio.gather(*(c.socket.close(code=code, reason=reason) for c in connections),
                             return_exceptions=True)
        if connections:
            log.warning("closed %d agent socket(s): %s", len(connections), reason)

    async def serve_work(self, conn: Connection, client: Client) -> None:
        """Poll the agent's task queue for it, bridging each task over its socket."""
        bridge = _Bridge(conn, client)
        conn.worker = Worker(
            client, task_queue=agent_task_queue(conn.agent.agent_id),
            activities=[bridge.think, bridge.run_tool], max_concurrent_activity_task_polls=1)
        task = asyncio.create_task(conn.worker.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        heart = asyncio.create_task(bridge.heartbeat_outstanding())
        self._tasks.add(heart)
        heart.add_done_callback(self._tasks.discard)

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

    async def _send(self, kind: str, payload: dict[str, Any]) -> None:
        token = activity.info().task_token
        task_id = base64.urlsafe_b64encode(token).decode()
        self._conn.outstanding[task_id] = self._client.get_async_activity_handle(
            task_token=token)
        await self._conn.send({"type": kind, "task_id": task_id, "input": payload})
        activity.raise_complete_async()

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Send the think to the agent; it answers with ``result``."""
        await self._send("think", inp.model_dump(mode="json"))
        raise AssertionError("unreachable")  # raise_complete_async raised

    @activity.defn(name=TOOL_ACTIVITY)
    async def run_tool(self, inp: ToolInput) -> ToolResult:
        """Send the tool call to the agent; it answers with ``result``."""
        await self._send("run_tool", inp.model_dump(mode="json"))
        raise AssertionError("unreachable")

    async def heartbeat_outstanding(self) -> None:
        """Keep tasks that are out with the agent alive while its socket is."""
        while self._conn.socket.client_state.name == "CONNECTED":
            for handle in list(self._conn.outstanding.values()):
                with contextlib.suppress(Exception):
                    await handle.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)
