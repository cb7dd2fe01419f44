"""Each kind of gateway outcome, as the HTTP route and the agent socket answer it.

The route maps a kind to one status and error code; the socket to ``gateway_result`` with
``retryable`` for what is worth sending again. Driven end to end: the real API and gateway,
slack-sdk against the session's Slack fake (which fails on demand).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from activities.gateway import ACTION
from api.agent_protocol import GATEWAY_RETRYABLE
from api.routes.gateway import REFUSALS
from infra.gateway.outcome import OutcomeKind
from tests.admin import agent_token, bearer, slack_channel
from tests.conftest import Remotes, TenantFactory


async def _agent(http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
                 remotes: Remotes) -> tuple[dict[str, str], str, str]:
    """An agent granted slack_post_message on one fresh channel: its auth, token, channel."""
    agent = f"poster-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent, pattern="C*")
    token = await agent_token(http, admin, tenant, agent)
    return bearer(token), token, channel


async def test_every_kind_has_one_answer_in_each_door() -> None:
    kinds = set(OutcomeKind)
    answered = {OutcomeKind.OK, OutcomeKind.REPLAYED}
    assert set(REFUSALS) | answered == kinds and not set(REFUSALS) & answered
    assert set(ACTION) == kinds
    assert set(GATEWAY_RETRYABLE) == kinds


async def test_the_route_answers_each_kind_with_its_status(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    auth, _, channel = await _agent(http, admin, make_tenant, remotes)

    async def post(key: str, **args: Any) -> httpx.Response:
        return await http.post("/gateway/execute", headers={**auth, "Idempotency-Key": key},
                               json={"intent": "slack_post_message", "args": args})

    first = await post("kind-ok-1", channel=channel, text="hello")
    assert (first.status_code, first.json()["replayed"]) == (200, False), first.text
    again = await post("kind-ok-1", channel=channel, text="hello")
    assert (again.status_code, again.json()) == (200, {**first.json(), "replayed": True})

    invalid = await post("kind-invalid-1", channel=channel)  # no text
    assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid_intent")
    assert "invalid arguments" in invalid.json()["detail"]

    denied = await post("kind-denied-1", channel="D0ELSEWHERE", text="hi")  # grant is C*
    assert (denied.status_code, denied.json()["error"]) == (403, "denied")

    remotes.slack.fail_next(503, "service_unavailable", headers={"Retry-After": "7"})
    retry = await post("kind-retry-1", channel=channel, text="later")
    assert (retry.status_code, retry.json()["error"]) == (503, "remote_unavailable")
    assert retry.headers["Retry-After"] == "7"

    failed = await post("kind-failed-1", channel="C0NOWHERE", text="lost")
    assert (failed.status_code, failed.json()["error"]) == (502, "remote_refused")
    assert "channel_not_found" in failed.json()["detail"]
    replayed_failure = await post("kind-failed-1", channel="C0NOWHERE", text="lost")
    assert (replayed_failure.status_code, replayed_failure.json()) == (502, failed.json())


async def test_the_socket_answers_each_kind_with_a_gateway_result(
    api_url: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    remotes: Remotes,
) -> None:
    _, token, channel = await _agent(http, admin, make_tenant, remotes)
    url = api_url.replace("http://", "ws://") + "/agents/ws"
    async with websockets.connect(url, subprotocols=[Subprotocol("bearer"),
                                                     Subprotocol(token)]) as ws:
        assert json.loads(await ws.recv())["type"] == "welcome"

        async def call(key: str, **args: Any) -> dict[str, Any]:
            await ws.send(json.dumps({"type": "gateway", "id": key, "intent":
                                      "slack_post_message", "idempotency_key": key,
                                      "args": args}))
            reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (reply["type"], reply["id"]) == ("gateway_result", key), reply
            return reply

        ok = await call("sock-ok-1", channel=channel, text="hello")
        assert ok["error"] is None and ok["result"]["channel"] == channel
        assert ok["retryable"] is False
        assert await call("sock-ok-1", channel=channel, text="hello") == ok  # replayed
        for key, args in (("sock-invalid-1", {"channel": channel}),
                          ("sock-denied-1", {"channel": "D0ELSEWHERE", "text": "hi"}),
                          ("sock-failed-1", {"channel": "C0NOWHERE", "text": "lost"})):
            refused = await call(key, **args)
            assert refused["error"] and refused["retryable"] is False, refused
        remotes.slack.fail_next(500)
        retry = await call("sock-retry-1", channel=channel, text="later")
        assert retry["error"] and retry["retryable"] is True, retry
