"""Manual runs (issue #15 part 1) over the real API, Temporal and PostgreSQL: an operator starts
the demo agent on a goal, the run answers and is listed with its trigger, a webhook's run is
listed beside it, another tenant sees none of it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from api.authz import required_role
from infra.users.roles import Role
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_governance import kill_switch_off  # noqa: F401 (fixture)
from tests.test_sessions import post_slack
from workers.agent import agent_worker
from workers.runtime.demo import DEMO_LABEL
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import ThinkInput, ThinkOutput, ToolCall, ToolInput, ToolResult, Usage
from workflows.names import THINK_ACTIVITY, TOOL_ACTIVITY
from workflows.triggered_run import TriggeredRunWorkflow

DONE = {"answered", "max_turns", "expired", "failed"}


async def wait_run(http: httpx.AsyncClient, headers: dict[str, str], tenant: str, run_id: str,
                   statuses: set[str] = DONE, within: float = 30.0, turns: int = 0
                   ) -> dict[str, Any]:
    """The run once its status is one of ``statuses`` (and it took ``turns`` at least)."""
    deadline = time.monotonic() + within
    while True:
        r = await http.get(f"/admin/tenants/{tenant}/runs/{run_id}", headers=headers)
        if r.status_code == 200 and r.json()["status"] in statuses \
                and r.json()["turns"] >= turns:
            return dict(r.json())
        assert time.monotonic() < deadline, f"run {run_id}: {r.status_code} {r.text}"
        await asyncio.sleep(0.05)


async def wait_listed(http: httpx.AsyncClient, headers: dict[str, str], tenant: str,
                      run_id: str, within: float = 15.0, **params: str) -> list[dict[str, Any]]:
    """The tenant's listing (with ``params``) once it shows ``run_id`` as finished."""
    deadline = time.monotonic() + within
    while True:
        r = await http.get(f"/admin/tenants/{tenant}/runs", headers=headers, params=params)
        assert r.status_code == 200, r.text
        runs: list[dict[str, Any]] = r.json()
        if any(x["run_id"] == run_id and x["status"] in DONE for x in runs):
            return runs
        assert time.monotonic() < deadline, f"{run_id} not listed with {params}: {runs}"
        await asyncio.sleep(0.1)


async def test_manual_run_of_the_demo_agent_answers_and_is_listed_as_manual(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"demo-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    operator = viewer = admin  # the roles' rules: test_operators_start_runs_viewers_read
    path = f"/admin/tenants/{tenant}/agents/{agent}/runs"
    body = {"goal": "sweep overdue tasks", "context": {"list": "Sprint 12"}}
    async with running(agent_worker(temporal_client, tenant, agent)):  # the demo policy
        r = await http.post(path, headers=operator, json=body)
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        assert run_id.startswith(f"run/{tenant}/manual/") and run_id.endswith(f"/{agent}")
        run = await wait_run(http, viewer, tenant, run_id)
    assert run["status"] == "answered" and run["trigger"] == "manual"
    assert run["agent_id"] == agent and run["turns"] == 1 and run["tool_calls"] == []
    assert run["final"].startswith(DEMO_LABEL) and "'sweep overdue tasks'" in run["final"]
    assert "manual run by " in run["final"]
    assert run["goal"] == "sweep overdue tasks"
    listed = await wait_listed(http, viewer, tenant, run_id, trigger="manual", agent=agent)
    assert [x["run_id"] for x in listed] == [run_id]
    r = await http.get(f"/admin/tenants/{tenant}/runs", headers=viewer,
                       params={"trigger": "webhook"})
    assert run_id not in [x["run_id"] for x in r.json()]
    # another tenant sees neither the run nor the agent
    other = await make_tenant(agents=(agent,))
    r = await http.get(f"/admin/tenants/{other}/runs/{run_id}", headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "unknown_run"
    r = await http.get(f"/admin/tenants/{other}/runs", headers=admin)
    assert r.status_code == 200 and r.json() == []
    # the run's histories replay with the current workflows
    replayer = Replayer(workflows=[TriggeredRunWorkflow, AgentRunWorkflow],
                        data_converter=temporal_client.data_converter,
                        workflow_runner=UnsandboxedWorkflowRunner())  # as the platform runs them
    trigger_id = "trigger/" + run_id.removeprefix("run/").rsplit("/", 1)[0]
    for workflow_id in (run_id, trigger_id):
        await replayer.replay_workflow(
            await temporal_client.get_workflow_handle(workflow_id).fetch_history())


async def test_run_detail_shows_tool_calls_and_waiting_and_webhook_runs_are_listed(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"tools-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                         json={"session_debounce_ms": 0})
    assert r.status_code == 200, r.text

    @activity.defn(name=THINK_ACTIVITY)
    async def think(inp: ThinkInput) -> ThinkOutput:
        usage = Usage(model="scripted", input_tokens=10, output_tokens=5)
        if not inp.steps:
            return ThinkOutput(thought="look it up", usage=usage, tool_calls=[
                ToolCall(id="c1", name="lookup", arguments={"q": inp.event.title}),
                ToolCall(id="c2", name="broken")])
        return ThinkOutput(final=f"found: {inp.steps[0].results[0].content}", usage=usage)

    @activity.defn(name=TOOL_ACTIVITY)
    async def run_tool(inp: ToolInput) -> ToolResult:
        if inp.call.name == "broken":
            raise ApplicationError("no such board", non_retryable=True)
        return ToolResult(call_id=inp.call.id, name=inp.call.name,
                          content=f"3 overdue in {json.dumps(inp.call.arguments)}")

    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/runs", headers=admin,
                        json={"goal": "count overdue"})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    # no worker of the agent is up: the think waits in its queue
    waiting = await wait_run(http, admin, tenant, run_id, {"waiting"}, turns=1)
    assert waiting["turns"] == 1 and waiting["final"] is None
    deadline = time.monotonic() + 10
    while [x["run_id"] for x in (await http.get(f"/admin/tenants/{tenant}/runs", headers=admin,
                                                params={"status": "waiting"})).json()] != [run_id]:
        assert time.monotonic() < deadline, "the waiting run is not listed as waiting"
        await asyncio.sleep(0.1)
    async with running(agent_worker(temporal_client, tenant, agent, think, run_tool)):
        run = await wait_run(http, admin, tenant, run_id)
        inbox_id = await post_slack(http, tenant, "please triage this", f"{time.time():.6f}")
        assert inbox_id
        webhook_runs = await _wait_webhook_run(http, admin, tenant)
    assert run["status"] == "answered" and run["turns"] == 2
    assert run["final"] == 'found: 3 overdue in {"q": "count overdue"}'
    assert run["tool_calls"] == [{"turn": 1, "name": "lookup", "arguments": {"q": "count overdue"},
                                  "target": "agent", "is_error": False,
                                  "result": '3 overdue in {"q": "count overdue"}'},
                                 {"turn": 1, "name": "broken", "arguments": {},
                                  "target": "agent", "is_error": True,
                                  "result": "tool failed: no such board"}]
    [hooked] = webhook_runs
    assert hooked["trigger"] == "webhook" and hooked["agent_id"] == agent
    r = await http.get(f"/admin/tenants/{tenant}/runs", headers=admin,
                       params={"agent": agent, "status": "answered"})
    assert {x["trigger"] for x in r.json()} == {"manual", "webhook"}
    r = await http.get("/admin/usage", headers=admin, params={"tenant_id": tenant})
    [total] = r.json()  # both runs count in the economy
    assert (total["agent_id"], total["runs"], total["input_tokens"]) == (agent, 2, 40)


async def _wait_webhook_run(http: httpx.AsyncClient, admin: dict[str, str], tenant: str
                            ) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        r = await http.get(f"/admin/tenants/{tenant}/runs", headers=admin,
                           params={"trigger": "webhook", "status": "answered"})
        if r.json():
            return list(r.json())
        assert time.monotonic() < deadline, "the webhook's run is not listed"
        await asyncio.sleep(0.1)


async def test_paused_or_unknown_agent_is_refused(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant(agents=("idle",))
    r = await http.patch(f"/admin/tenants/{tenant}/agents/idle", headers=admin,
                         json={"status": "paused"})
    assert r.status_code == 200, r.text
    r = await http.post(f"/admin/tenants/{tenant}/agents/idle/runs", headers=admin,
                        json={"goal": "anything"})
    assert r.status_code == 409 and r.json()["error"] == "agent_paused"
    r = await http.post(f"/admin/tenants/{tenant}/agents/nobody/runs", headers=admin,
                        json={"goal": "anything"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_agent"
    r = await http.post(f"/admin/tenants/{tenant}/agents/idle/runs", headers=admin,
                        json={"goal": ""})
    assert r.status_code == 422
    r = await http.get(f"/admin/tenants/{tenant}/runs/run/{tenant}/manual/00/idle",
                       headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "unknown_run"


def test_operators_start_runs_and_fire_schedules_viewers_read() -> None:
    runs = "/admin/tenants/{tenant_id}/agents/{agent_id}/runs"
    schedules = "/admin/tenants/{tenant_id}/agents/{agent_id}/schedules"
    assert required_role("POST", runs, {"goal": "x"}) is Role.operator
    assert required_role("POST", schedules + "/{schedule_id}/trigger", None) is Role.operator
    assert required_role("GET", "/admin/tenants/{tenant_id}/runs", None) is Role.viewer
    assert required_role("GET", "/admin/tenants/{tenant_id}/runs/{run_id:path}", None) \
        is Role.viewer
    for method in ("POST", "PATCH", "DELETE"):  # a schedule itself is an admin's
        assert required_role(method, schedules, {}) is Role.admin
    assert not Role.viewer.allows(Role.operator) and Role.operator.allows(Role.operator)


async def test_a_manual_run_waits_while_the_kill_switch_is_on(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, kill_switch_off: None,  # noqa: F811
) -> None:
    agent = f"held-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    async with running(agent_worker(temporal_client, tenant, agent)):
        r = await http.post("/admin/kill-switch", headers=admin,
                            json={"action": "stop_all", "reason": "test: hold manual runs"})
        assert r.status_code == 200, r.text
        r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/runs", headers=admin,
                            json={"goal": "wait for me"})
        assert r.status_code == 202, r.text  # taken, and held
        run_id = r.json()["run_id"]
        held = await wait_run(http, admin, tenant, run_id, {"waiting"})
        assert held["turns"] == 0 and held["trigger"] == "manual"
        await asyncio.sleep(1.1)  # past a recheck of the switch (every 1 s): still held
        r = await http.get(f"/admin/tenants/{tenant}/runs/{run_id}", headers=admin)
        assert r.json()["status"] == "waiting" and r.json()["turns"] == 0
        r = await http.post("/admin/kill-switch", headers=admin, json={"action": "resume"})
        assert r.status_code == 200, r.text
        run = await wait_run(http, admin, tenant, run_id)
    assert run["status"] == "answered" and "'wait for me'" in run["final"]
