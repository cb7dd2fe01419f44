"""Human approval of a risky intent, end to end (README, Approvals; issue #15 item 3).

Real API, Temporal, PostgreSQL and git; slack-sdk against the session's Slack fake. An agent
with a scripted policy asks for an approval-gated ``github_push``; the request reaches Slack as
an interactive message and the admin API; a signed ``block_actions`` click, the admin API or the
run's timer decides it, and the agent sees the outcome as its tool's observation.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from infra.gateway.github import GITHUB_PUSH
from infra.gateway.service import tool
from infra.settings import AgentSettings, Settings
from tests import corpus
from tests.admin import agent_token, bearer, store_secret
from tests.conftest import Remotes, TenantFactory
from tests.fakes.git_http import git, make_workspace
from tests.harness import running
from workers.agent import runtime_worker
from workers.runtime import build_runtime
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import (
    AgentOutcome,
    AgentRunInput,
    AgentTarget,
    EventKind,
    Provider,
    StandardEvent,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "slack_forms" / "block_actions.json"
APPROVER, GROUP, MEMBER, STRANGER = "UAPPROVER1", "SOPSTEAM1", "UGROUPMEM1", "USTRANGER1"


@dataclass
class Gated:
    """A tenant whose agent may push only once a person approves."""

    tenant: str
    agent: str
    channel: str
    repo: str
    bare: Path
    sha: str
    args: dict[str, Any]


async def gated_push(http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
                     remotes: Remotes, timeout_seconds: int = 3600) -> Gated:
    """A fresh tenant, repo and workspace; github_push granted with an approval rule."""
    agent = f"coder-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    repo = f"{tenant}/frontend"
    bare = remotes.git.create_repo(repo)
    sha = make_workspace(remotes.workspaces / tenant / "frontend")
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    remotes.slack.channels.add(channel)
    remotes.slack.usergroups[GROUP] = [MEMBER]
    for name in ("github_token", "slack_bot_token"):
        await store_secret(http, admin, tenant, name)
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/grants", headers=admin, json={
        "intent": "github_push", "resource_pattern": f"{tenant}/*",
        "approval": {"approvers": [APPROVER], "approver_group": GROUP, "channel": channel,
                     "timeout_seconds": timeout_seconds}})
    assert r.status_code == 201, r.text
    args = {"repo": repo, "branch": "feat/login", "workspace": f"{tenant}/frontend"}
    return Gated(tenant, agent, channel, repo, bare, sha, args)


@asynccontextmanager
async def pushing_agent(client: Client, tmp_path: Path, g: Gated) -> AsyncIterator[None]:
    """The agent's worker: push once, then answer with what the push came to."""
    script = tmp_path / f"{g.agent}.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "github_push", "arguments": g.args}]},
        {"content": "Push: {last_tool_result}"}]))
    async with build_runtime(AgentSettings(llm="scripted", script=script), g.agent) as runtime, \
            running(runtime_worker(client, g.tenant, runtime)):
        yield


async def start_run(client: Client, settings: Settings, g: Gated) -> WorkflowHandle[Any, Any]:
    """The agent's run on a piece of work (started as a manual run would be)."""
    run_id = f"run/{g.tenant}/manual/{uuid.uuid4().hex[:8]}/{g.agent}"
    event = StandardEvent(tenant_id=g.tenant, provider=Provider.GITHUB, source_event="manual",
                          kind=EventKind.NEW_WORK_ITEM, title="Push the login branch")
    return await client.start_workflow(
        "AgentRunWorkflow",
        AgentRunInput(run_id=run_id, event=event, gateway_queue=settings.gateway.task_queue,
                      target=AgentTarget(agent_id=g.agent, gateway_tools=[tool(GITHUB_PUSH)])),
        id=run_id, task_queue=settings.temporal.task_queue, result_type=AgentOutcome)


async def posted_request(remotes: Remotes, channel: str, within: float = 20) -> dict[str, Any]:
    """The approval request's Slack message, once it is there."""
    async with asyncio.timeout(within):
        while not [m for m in remotes.slack.messages if m["channel"] == channel]:
            await asyncio.sleep(0.02)
    [message] = [m for m in remotes.slack.messages if m["channel"] == channel]
    return message


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of the message's buttons."""
    return {e["action_id"]: e["value"] for b in message.get("blocks", [])
            if b["type"] == "actions" for e in b["elements"]}


async def click(http: httpx.AsyncClient, tenant: str, message: dict[str, Any], user: str,
                action: str) -> None:
    """A signed block_actions callback: ``user`` clicked ``action`` on the request's message."""
    payload = json.loads(FIXTURE.read_text()) | {
        "user": {"id": user, "username": user.lower()},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.333.{uuid.uuid4().hex}",
        "channel": {"id": message["channel"]},
        "container": {"type": "message", "message_ts": message["ts"],
                      "channel_id": message["channel"]},
        "message": {"type": "message", "ts": message["ts"], "text": message["text"]},
        "actions": [{"type": "button", "action_id": action, "value": buttons(message)[action],
                     "block_id": f"approval:{buttons(message)[action]}",
                     "action_ts": f"{uuid.uuid4().int % 10**10}.000100"}]}
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        **corpus.slack_sign(raw, corpus.secret("slack"))})
    assert r.status_code == 200, r.text


async def approval_state(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                         approval_id: str, states: set[str], within: float = 20,
                         posted: bool = False) -> dict[str, Any]:
    """The approval as the admin API shows it, once in one of ``states`` (and posted)."""
    async with asyncio.timeout(within):
        while True:
            r = await http.get(f"/admin/tenants/{tenant}/approvals/{approval_id}", headers=admin)
            assert r.status_code == 200, r.text
            if r.json()["state"] in states and (r.json()["posted_at"] or not posted):
                return dict(r.json())
            await asyncio.sleep(0.05)


async def audit(http: httpx.AsyncClient, admin: dict[str, str], tenant: str
                ) -> list[dict[str, Any]]:
    """The tenant's whole audit (gateway and admin logs), oldest first."""
    r = await http.get(f"/admin/tenants/{tenant}/audit?log=all&limit=1000", headers=admin)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))


async def test_an_allowed_approvers_click_lets_the_push_land_once_a_strangers_does_not(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    remotes: Remotes, temporal_client: Client, settings: Settings,
) -> None:
    g = await gated_push(http, admin, make_tenant, remotes)
    async with pushing_agent(temporal_client, tmp_path, g):
        run = await start_run(temporal_client, settings, g)
        message = await posted_request(remotes, g.channel)
        approval_id = buttons(message)["approval_approve"]
        assert buttons(message) == {"approval_approve": approval_id, "approval_deny": approval_id}
        text = json.dumps(message["blocks"])
        assert g.agent in text and "github_push" in text and "feat/login" in text
        listed = await approval_state(http, admin, g.tenant, approval_id, {"pending"},
                                      posted=True)
        assert [a["id"] for a in (await http.get(
            f"/admin/tenants/{g.tenant}/approvals?state=pending", headers=admin)).json()] == [
            approval_id]
        assert (listed["id"], listed["arguments"], listed["run_id"]) == (approval_id, g.args,
                                                                         run.id)
        assert sorted(listed["approvers"]) == [APPROVER, MEMBER]  # the group's member too
        [held] = (await http.get(f"/admin/tenants/{g.tenant}/agents/{g.agent}/grants",
                                 headers=admin)).json()
        assert (held["approval"]["approvers"], held["approval"]["approver_group"]) == (
            [APPROVER], GROUP)

        await click(http, g.tenant, message, STRANGER, "approval_approve")
        async with asyncio.timeout(20):  # refused and recorded; the request stays pending
            while not [a for a in await audit(http, admin, g.tenant)
                       if a["outcome"] == "refused:not_an_approver"]:
                await asyncio.sleep(0.05)
        assert (await approval_state(http, admin, g.tenant, approval_id, {"pending"}))
        assert remotes.slack.updates == [] or all(
            u["ts"] != message["ts"] for u in remotes.slack.updates)

        await click(http, g.tenant, message, MEMBER, "approval_approve")
        outcome = await run.result()
    assert outcome.status == "answered" and g.sha in (outcome.final or "")
    await Replayer(workflows=[AgentRunWorkflow], data_converter=temporal_client.data_converter
                   ).replay_workflow(await run.fetch_history())  # the wait replays as it ran
    assert git("rev-parse", "refs/heads/feat/login", cwd=g.bare) == g.sha
    decided = await approval_state(http, admin, g.tenant, approval_id, {"approved"})
    assert (decided["decided_by"], decided["decided_via"]) == (MEMBER, "slack")
    assert decided["applied_at"] is not None
    [update] = [u for u in remotes.slack.updates if u["ts"] == message["ts"]]
    assert f"Approved* by <@{MEMBER}>" in json.dumps(update["blocks"])
    assert "actions" not in [b["type"] for b in update["blocks"]]  # the buttons are gone
    rows = await audit(http, admin, g.tenant)
    pushes = [a for a in rows if a["log"] == "gateway" and a["intent"] == "github_push"]
    assert [(a["decision"], a["outcome"]) for a in pushes] == [("allowed", "ok")]  # once
    actions = [(a["action"], a["outcome"], a["actor"]) for a in rows if a["log"] == "admin"
               and a["action"].startswith("approval.")]
    assert actions == [
        ("approval.request", "ok", f"agent:{g.tenant}/{g.agent}"),
        ("approval.approve", "refused:not_an_approver", f"slack:{STRANGER}"),
        ("approval.approve", "ok", f"slack:{MEMBER}")]


async def test_a_denial_and_a_timeout_each_reach_the_agent_as_an_observation(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    remotes: Remotes, temporal_client: Client, settings: Settings,
) -> None:
    denied = await gated_push(http, admin, make_tenant, remotes)
    timed = await gated_push(http, admin, make_tenant, remotes, timeout_seconds=2)
    async with pushing_agent(temporal_client, tmp_path, denied), \
            pushing_agent(temporal_client, tmp_path, timed):
        deny_run = await start_run(temporal_client, settings, denied)
        timeout_run = await start_run(temporal_client, settings, timed)
        message = await posted_request(remotes, denied.channel)
        approval_id = buttons(message)["approval_deny"]
        r = await http.post(f"/admin/tenants/{denied.tenant}/approvals/{approval_id}/deny",
                            headers=admin, json={"reason": "not before the release"})
        assert (r.status_code, r.json()["state"]) == (200, "denied"), r.text
        again = await http.post(f"/admin/tenants/{denied.tenant}/approvals/{approval_id}/approve",
                                headers=admin, json={})
        assert (again.status_code, again.json()["error"]) == (409, "already_decided")
        elsewhere = await http.get(f"/admin/tenants/{timed.tenant}/approvals/{approval_id}",
                                   headers=admin)
        assert elsewhere.status_code == 404  # another tenant's approval
        deny_outcome, timeout_outcome = await deny_run.result(), await timeout_run.result()
    assert "denied: bootstrap-admin denied github_push: not before the release" in (
        deny_outcome.final or "")
    assert "nobody approved github_push within 2 s" in (timeout_outcome.final or "")
    for g in (denied, timed):
        assert not git("branch", "--list", "feat/login", cwd=g.bare)  # nothing pushed
    timed_message = await posted_request(remotes, timed.channel)
    [update] = [u for u in remotes.slack.updates if u["ts"] == timed_message["ts"]]
    assert "*Expired*" in json.dumps(update["blocks"])
    for g, action, detail in ((denied, "approval.deny", "denied by bootstrap-admin"),
                              (timed, "approval.expire", "expired after 2 s")):
        rows = await audit(http, admin, g.tenant)
        assert action in [a["action"] for a in rows if a["log"] == "admin"]
        [refused] = [a for a in rows if a["log"] == "gateway" and a["intent"] == "github_push"]
        assert refused["decision"] == "denied" and detail in refused["detail"]
    # outside a run nobody can wait for the decision: the HTTP door refuses such a call
    auth = bearer(await agent_token(http, admin, denied.tenant, denied.agent))
    r = await http.post("/gateway/execute", headers={**auth, "Idempotency-Key": "direct-1"},
                        json={"intent": "github_push", "args": denied.args})
    assert (r.status_code, r.json()["error"]) == (403, "denied")
    assert "approval" in r.json()["detail"]
