"""The breaker through the gateway: it counts what reached Slack, keyed on text and channel.

A Slack post refused with 502, then sent to another channel (or sent again), is one delivered
message, not the same message twice: the agent is not stuck. The real gateway, vault and
breaker on the session's PostgreSQL; slack-sdk against the local Slack fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from infra.directory import agents as agent_dir
from infra.gateway import store as grants
from infra.gateway.outcome import Outcome, OutcomeKind
from infra.gateway.service import Gateway
from infra.settings import GatewaySettings
from tests.fakes.slack_api import FakeSlack
from tests.governance.conftest import vaulted_gateway
from workflows.contracts import GatewayCall, ToolCall

TOKEN = "xoxb-breaker-7d1e0c-never-shown"
CHANNELS = ("C0DEPLOYS", "C0GENERAL")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """Slack's Web API with two channels the bot is in."""
    with FakeSlack(TOKEN, channels=CHANNELS) as fake:
        yield fake


@pytest.fixture
async def gateway(db: asyncpg.Pool, slack: FakeSlack, tenant: str) -> Gateway:
    """The real gateway of one worker; the tenant's bot token in the embedded vault."""
    settings = GatewaySettings(slack_api_url=slack.base_url, timeout_seconds=10)
    return await vaulted_gateway(db, tenant, "slack_bot_token", TOKEN, settings)


async def _agent(db: asyncpg.Pool, tenant: str) -> str:
    agent = f"poster-{uuid.uuid4().hex[:6]}"
    await agent_dir.create_agent(db, tenant, agent, agent)
    await grants.add_grant(db, tenant, agent, "slack_post_message", "*")
    return agent


async def post(gateway: Gateway, tenant: str, agent: str, channel: str, text: str) -> Outcome:
    """One slack_post_message call, as a new step of the agent (a fresh idempotency key)."""
    call = GatewayCall(tenant_id=tenant, agent_id=agent, idempotency_key=uuid.uuid4().hex,
                       call=ToolCall(id="c1", name="slack_post_message",
                                     arguments={"channel": channel, "text": text}))
    return await gateway.execute(call, "test")


async def _status(db: asyncpg.Pool, tenant: str, agent: str) -> str:
    status: str = await db.fetchval(
        "SELECT status FROM agents WHERE tenant_id = $1 AND id = $2", tenant, agent)
    return status


async def test_a_post_refused_with_502_then_sent_elsewhere_is_not_a_stuck_agent(
        gateway: Gateway, slack: FakeSlack, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    slack.fail_next(502, "bad_gateway")
    failed = await post(gateway, tenant, agent, "C0DEPLOYS", "Deploy finished")
    assert failed.error and "502" in failed.error and failed.kind is OutcomeKind.RETRYABLE

    other = await post(gateway, tenant, agent, "C0GENERAL", "Deploy finished")
    assert other.error is None, other.error
    again = await post(gateway, tenant, agent, "C0DEPLOYS", "Deploy finished")
    assert again.error is None, again.error
    assert [(m["channel"], m["text"]) for m in slack.messages] == [
        ("C0GENERAL", "Deploy finished"), ("C0DEPLOYS", "Deploy finished")]
    assert await _status(db, tenant, agent) == "active"


async def test_the_same_delivered_message_to_the_same_channel_is_still_a_stuck_agent(
        gateway: Gateway, slack: FakeSlack, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    assert (await post(gateway, tenant, agent, "C0DEPLOYS", "Deploy finished")).error is None
    looping = await post(gateway, tenant, agent, "C0DEPLOYS", " Deploy  finished ")
    assert looping.kind is OutcomeKind.DENIED
    assert looping.error and "stuck agent" in looping.error
    assert len(slack.messages) == 1
    assert await _status(db, tenant, agent) == "paused"


async def test_failed_posts_do_not_use_up_the_rate(
        gateway: Gateway, slack: FakeSlack, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    slack.fail_next(500, times=10)
    for i in range(10):
        failed = await post(gateway, tenant, agent, "C0DEPLOYS", f"status {i}")
        assert failed.kind is OutcomeKind.RETRYABLE, failed
    delivered = await post(gateway, tenant, agent, "C0DEPLOYS", "status 10")
    assert delivered.error is None, delivered.error
    assert [m["text"] for m in slack.messages] == ["status 10"]
