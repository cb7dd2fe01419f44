"""The gateway end to end: grants, audit, vault-held credentials that never leak, idempotency."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.gateway import GatewayActivities
from infra.gateway.registry import builtin_intents
from infra.gateway.service import Gateway
from infra.settings import AgentSettings, Settings
from infra.vault import build_secret_store
from tests import corpus
from tests.admin import agent_token, bearer, grant, slack_channel, store_secret
from tests.conftest import GATEWAY_TOKEN, Remotes, TenantFactory
from tests.fakes.git_http import git, make_workspace
from tests.harness import running
from tests.test_pipeline import wait_status
from workers.agent import runtime_worker
from workers.runtime import ScriptedLLM, build_runtime
from workflows.contracts import GatewayCall, ToolCall


async def test_push_is_refused_without_a_grant_and_lands_with_one(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    agent = f"coder-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    repo = f"{tenant}/frontend"
    bare = remotes.git.create_repo(repo)
    sha = make_workspace(remotes.workspaces / tenant / "frontend")
    await store_secret(http, admin, tenant, "github_token")
    auth = bearer(await agent_token(http, admin, tenant, agent))
    body = {"intent": "github_push",
            "args": {"repo": repo, "branch": "feat/login", "workspace": f"{tenant}/frontend"}}

    r = await http.post("/gateway/execute", json=body,
                        headers={**auth, "Idempotency-Key": "push-attempt-1"})
    assert (r.status_code, r.json()["error"]) == (403, "denied")
    assert (await http.get("/gateway/catalog", headers=auth)).json() == []

    await grant(http, admin, tenant, agent, "github_push", f"{tenant}/*")
    r = await http.post("/gateway/execute", json=body,
                        headers={**auth, "Idempotency-Key": "push-attempt-2"})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["pushed_sha"] == sha
    landed = git("rev-parse", "refs/heads/feat/login", cwd=bare)
    assert landed == sha
    [entry] = (await http.get("/gateway/catalog", headers=auth)).json()
    assert entry["name"] == "github_push" and "workspace" in entry["parameters"]["properties"]

    audit = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json()
    assert [(a["decision"], a["outcome"], a["resource"]) for a in audit] == [
        ("allowed", "ok", repo), ("denied", "refused", repo)]
    assert GATEWAY_TOKEN not in json.dumps(audit)


async def test_gateway_calls_need_a_valid_agent_token(http: httpx.AsyncClient) -> None:
    r = await http.post("/gateway/execute", json={"intent": "reply", "args": {"text": "x"}},
                        headers={"Idempotency-Key": "no-token-1"})
    assert r.status_code == 401
    r = await http.get("/gateway/catalog", headers={"Authorization": "Bearer forged.token.x"})
    assert r.status_code == 401


async def test_agent_replies_through_the_gateway_and_the_secret_leaks_nowhere(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = f"helper-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent, intent="reply",
                                  pattern="C*")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "reply", "arguments": {"text": "On it: checking the login."}}]},
        {"content": "Replied in the thread: {last_tool_result}"},
    ]))
    raw = json.dumps({
        "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}", "team_id": "T1",
        "event": {"type": "message", "user": "U1", "text": "login is broken",
                  "ts": "1700000000.000200", "channel": channel, "channel_type": "channel"},
    }).encode()
    async with build_runtime(AgentSettings(llm="scripted", script=script), agent) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers={
            "Content-Type": "application/json", **corpus.slack_sign(raw, corpus.secret("slack"))})
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    [outcome] = event["outcomes"]
    assert outcome["status"] == "answered" and outcome["tool_calls"] == 1
    [posted] = [m for m in remotes.slack.messages if m["channel"] == channel]
    assert posted["thread_ts"] == "1700000000.000200"
    assert posted["text"] == "On it: checking the login."
    # the agent saw the tool's observation, which carries no credential
    seen = json.dumps([m for req in runtime.llm.requests for m in req[0]])  # type: ignore[union-attr]
    assert posted["ts"] in seen and GATEWAY_TOKEN not in seen
    # nowhere in Temporal history, the API's answers, or the logs
    event_id = f"event/{tenant}/slack/{json.loads(raw)['event_id']}"
    for workflow_id in (event_id, outcome["run_id"]):
        history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
        assert GATEWAY_TOKEN.encode() not in history.to_json().encode()
    for path in (f"/admin/tenants/{tenant}/events", f"/admin/tenants/{tenant}/audit",
                 f"/admin/tenants/{tenant}/secrets", "/admin/usage"):
        assert GATEWAY_TOKEN not in (await http.get(path, headers=admin)).text
    assert GATEWAY_TOKEN not in caplog.text


async def test_denied_intent_is_an_observation_the_agent_sees(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"eager-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    await grant(http, admin, tenant, agent, "github_comment", "acme/docs")
    llm = ScriptedLLM([
        {"tool_calls": [{"name": "github_comment", "arguments": {
            "repo": "Codertocat/Hello-World", "number": 1, "body": "fixed"}}]},
        {"content": "Could not comment: {last_tool_result}"},
    ])
    async with build_runtime(AgentSettings(), agent, llm=llm) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    [outcome] = event["outcomes"]
    assert "denied: agent" in outcome["final"] and "Codertocat/Hello-World" in outcome["final"]
    [row] = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json()
    assert (row["decision"], row["source"]) == ("denied", "workflow")


async def test_retried_gateway_activity_does_not_repeat_its_side_effect(
    pool: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient, admin: dict[str, str],
    make_tenant: TenantFactory, remotes: Remotes,
) -> None:
    agent = f"poster-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent)
    gateway = Gateway(pool, build_secret_store(settings, pool), settings.gateway,
                      builtin_intents())
    call = GatewayCall(tenant_id=tenant, agent_id=agent, idempotency_key=f"run/x/{uuid.uuid4()}",
                       call=ToolCall(id="c1", name="slack_post_message",
                                     arguments={"channel": channel, "text": "deploy done"}))
    activities = GatewayActivities(gateway)
    first = await ActivityEnvironment().run(activities.gateway_execute, call)
    retry_env = ActivityEnvironment()
    retry_env.info = retry_env.info.__class__(**{**retry_env.info.__dict__, "attempt": 2})
    again = await retry_env.run(activities.gateway_execute, call)
    assert not first.is_error and again == first
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel] == [
        "deploy done"]
    audit = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json()
    assert [a["outcome"] for a in audit] == ["replayed", "ok"]


async def test_rate_limited_call_is_retried_by_temporal_and_acts_once(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, remotes: Remotes,
) -> None:
    agent = f"poster-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    channel = await slack_channel(http, admin, remotes, tenant, agent)
    llm = ScriptedLLM([
        {"tool_calls": [{"name": "slack_post_message",
                         "arguments": {"channel": channel, "text": "release notes"}}]},
        {"content": "posted"},
    ])
    remotes.slack.fail_next(429, "ratelimited", headers={"Retry-After": "1"})
    async with build_runtime(AgentSettings(), agent, llm=llm) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        event = await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    assert event["outcomes"][0]["final"] == "posted"
    assert [m["text"] for m in remotes.slack.messages if m["channel"] == channel] == [
        "release notes"]
    audit = (await http.get(f"/admin/tenants/{tenant}/audit", headers=admin)).json()
    assert [a["outcome"] for a in audit] == ["ok", "error"]
    assert "429" in audit[1]["detail"]
