"""Frames the agent socket cannot read are answered, never a silent drop.

A text frame that is not JSON gets an ``error`` frame and the socket stays open; a binary frame
(the protocol is JSON text) is closed with 1003, the WebSocket code for data it cannot accept.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.admin import agent_token
from tests.conftest import TenantFactory


async def _socket(api_url: str, http: httpx.AsyncClient, admin: dict[str, str],
                  make_tenant: TenantFactory) -> websockets.ClientConnection:
    agent = f"frames-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    token = await agent_token(http, admin, tenant, agent)
    ws = await websockets.connect(api_url.replace("http://", "ws://") + "/agents/ws",
                                  subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def _reply(ws: websockets.ClientConnection) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return reply


async def test_text_that_is_not_json_is_answered_with_an_error_and_the_socket_stays(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    async with await _socket(api_url, http, admin, make_tenant) as ws:
        for bad in ("hello there", '{"type": "ping"', ""):
            await ws.send(bad)
            reply = await _reply(ws)
            assert reply["type"] == "error" and "not JSON" in reply["detail"], reply
        await ws.send("[1, 2]")
        assert (await _reply(ws))["detail"] == "messages are JSON objects"
        await ws.send(json.dumps({"type": "nonsense"}))  # still served
        assert "unknown message type" in (await _reply(ws))["detail"]


async def test_a_binary_frame_is_closed_with_1003(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    ws = await _socket(api_url, http, admin, make_tenant)
    await ws.send(b"\x00\xff binary")
    try:
        await asyncio.wait_for(ws.recv(), 5)
        raise AssertionError("the socket stayed open after a binary frame")
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 1003
        assert "text" in closed.rcvd.reason
