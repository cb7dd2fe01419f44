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
import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.agent_protocol import ErrorMessage, GatewayResult, TaskDone, Unreadable, read
from tests import corpus
from tests.admin import agent_token
from tests.conftest import TenantFactory
from tests.test_pipeline import wait_status


async def _socket(api_url: str, http: httpx.AsyncClient, admin: dict[str, str],
                  make_tenant: TenantFactory, agent: str | None = None,
                  tenant: str | None = None) -> websockets.ClientConnection:
    agent = agent or f"frames-{uuid.uuid4().hex[:6]}"
    tenant = tenant or await make_tenant(agents=(agent,))
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


async def test_frames_are_compact_json_with_the_type_first(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    async with await _socket(api_url, http, admin, make_tenant) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        assert await asyncio.wait_for(ws.recv(), 5) == '{"type":"pong"}'
        await ws.send('{"type": "result", "task_id": "gone", "output": {"final": "x"}}')
        assert await asyncio.wait_for(ws.recv(), 5) == (
            '{"type":"error","detail":"no such task (finished, or timed out)"}')


async def test_a_message_with_fields_of_the_wrong_shape_is_answered_and_the_socket_stays(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    async with await _socket(api_url, http, admin, make_tenant) as ws:
        for i, args in enumerate(([1, 2], "channel=C1", 7)):
            await ws.send(json.dumps({"type": "gateway", "id": i, "intent": "slack_post_message",
                                      "idempotency_key": "shape-key-1", "args": args}))
            reply = await _reply(ws)
            assert (reply["type"], reply["id"], reply["retryable"]) == (
                "gateway_result", i, False), reply
            assert reply["error"].startswith("invalid gateway message: args"), reply
        await ws.send(json.dumps({"type": "gateway", "id": "x"}))  # no intent
        reply = await _reply(ws)
        assert (reply["id"], reply["result"]) == ("x", None) and "intent" in reply["error"]
        await ws.send(json.dumps({"type": "hello", "accept_work": [1]}))
        reply = await _reply(ws)
        assert reply["type"] == "error" and reply["detail"].startswith("invalid hello message")
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _reply(ws))["type"] == "pong"


async def test_an_agent_that_accepts_work_gets_a_think_and_its_result_ends_the_run(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    agent = f"worker-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    async with await _socket(api_url, http, admin, make_tenant, agent, tenant) as ws:
        await ws.send(json.dumps({"type": "hello", "accept_work": True}))
        raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        assert r.status_code == 202, r.text
        task: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert (task["type"], task["input"]["agent_id"]) == ("think", agent), task
        await ws.send(json.dumps({"type": "result", "task_id": task["task_id"],
                                  "output": {"final": "seen it"}}))
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    [outcome] = event["outcomes"]
    assert (outcome["status"], outcome["final"]) == ("answered", "seen it")


def test_a_result_is_read_as_a_tool_result_when_it_names_a_call_and_a_think_otherwise() -> None:
    tool = read('{"type": "result", "task_id": "t1", "output": '
                '{"call_id": "c1", "name": "clock", "content": "12:00"}}')
    think = read('{"type": "result", "task_id": "t2", "output": {"final": "done"}}')
    assert isinstance(tool, TaskDone) and type(tool.output).__name__ == "ToolResult"
    assert isinstance(think, TaskDone) and type(think.output).__name__ == "ThinkOutput"
    with pytest.raises(Unreadable) as bad:  # a tool result without its content
        read('{"type": "result", "task_id": "t3", "output": {"call_id": "c1", "name": "x"}}')
    assert isinstance(bad.value.answer, ErrorMessage)
    assert bad.value.answer.detail.startswith("invalid result message: output.tool.content")


@pytest.mark.parametrize(("frame", "answer"), [
    ('{"type": 5}', '{"type":"error","detail":"unknown message type 5"}'),
    ("{}", '{"type":"error","detail":"unknown message type None"}'),
    ('{"type": "gateway", "id": [1], "intent": "x", "args": []}',
     '{"type":"gateway_result","id":[1],"result":null,"error":"invalid gateway message: args:'
     ' Input should be a valid dictionary","retryable":false}'),
])
def test_a_frame_that_is_not_a_message_is_answered_with_why(frame: str, answer: str) -> None:
    with pytest.raises(Unreadable) as bad:
        read(frame)
    assert isinstance(bad.value.answer, ErrorMessage | GatewayResult)
    assert bad.value.answer.model_dump_json() == answer
