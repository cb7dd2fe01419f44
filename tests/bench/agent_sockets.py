"""Agent sockets for the benchmarks: connect with a token, and time when the server closes one."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable

import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol


async def connect(url: str, token: str) -> websockets.ClientConnection:
    """An agent socket at ``url`` (ws://…/agents/ws), past its welcome; refused ones raise."""
    ws = await websockets.connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)],
                                  open_timeout=10)
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"agent socket refused: {welcome}")
    return ws


async def closed_at(ws: websockets.ClientConnection, within: float,
                    clock: Callable[[], float]) -> tuple[float, int | None]:
    """When (by ``clock``) the server closed the socket and with which code; inf if not in time."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return clock(), closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        await ws.close()
        return math.inf, None
