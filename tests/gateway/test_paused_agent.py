"""A paused agent's run still in flight gets no gateway call (issue #12); offline ones do."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from temporalio.testing import ActivityEnvironment

from activities.gateway import GatewayActivities
from infra.gateway.outcome import OutcomeKind
from infra.gateway.registry import builtin_intents
from infra.gateway.service import Gateway
from infra.settings import Settings
from infra.vault import build_secret_store
from tests.admin import slack_channel
from tests.conftest import Remotes, TenantFactory
from workflows.contracts import GatewayCall, ToolCall


def _post(tenant: str, agent: str, channel: str, text: str) -> GatewayCall:
    return GatewayCall(tenant_id=tenant, agent_id=agent, idempotency_key=f"run/p/{uuid.uuid4()}",
                       call=ToolCall(id="c1", name="slack_post_message",
                                     arguments={"channel": channel, "text": text}))


async def _set_status(http: httpx.AsyncClient, admin: dict[str, str], tenant: str, agent: str,
                      status: str) -> None:
    r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                         json={"status": status})
    assert r.status_code == 200 and r.json()["status"] == status, r.text


async def test_paused_agent_gateway_activity_is_denied_until_resumed(
    pool: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient, admin: dict[str, str],
    make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    agent = f"poster-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent)
    gateway = Gateway(pool, build_secret_store(settings, pool), settings.gateway, builtin_intents())
    activities = GatewayActivities(gateway)
    call = _post(tenant, agent, channel, "deploy done")

    await _set_status(http, admin, tenant, agent, "paused")
    refused = await ActivityEnvironment().run(activities.gateway_execute, call)
    assert refused.is_error and refused.content == f"denied: agent {agent} is paused"
    assert [m for m in remotes.slack.messages if m["channel"] == channel] == []
    [row] = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json()
    assert (row["decision"], row["outcome"], row["detail"], row["source"]) == (
        "denied", "refused", "agent paused", "workflow")

    # Resumed: the same call (its key was not spent by the refusal) goes out, once.
    await _set_status(http, admin, tenant, agent, "active")
    sent = await ActivityEnvironment().run(activities.gateway_execute, call)
    assert not sent.is_error, sent.content
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel] == [
        "deploy done"]

    # Offline (presence) is not paused: the agent may still act.
    await _set_status(http, admin, tenant, agent, "offline")
    offline = await ActivityEnvironment().run(
        activities.gateway_execute, _post(tenant, agent, channel, "still here"))
    assert not offline.is_error, offline.content
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel] == [
        "deploy done", "still here"]


async def test_unknown_agent_is_denied_but_system_calls_need_no_agent(
    pool: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient, admin: dict[str, str],
    make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    tenant = await make_tenant()
    channel = await slack_channel(http, admin, remotes, tenant)
    gateway = Gateway(pool, build_secret_store(settings, pool), settings.gateway, builtin_intents())

    ghost = await gateway.execute(_post(tenant, "ghost", channel, "boo"), source="workflow")
    assert ghost.kind is OutcomeKind.DENIED
    assert ghost.error == f"agent ghost is unknown to tenant {tenant}"
    alert = await gateway.execute(_post(tenant, "switchboard", channel, "alert"),
                                  source="system", system=True)
    assert alert.kind is OutcomeKind.OK, alert.error
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel] == ["alert"]
