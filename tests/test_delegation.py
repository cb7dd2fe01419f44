"""Delegation end to end (README, Delegation; issue #15 item 4): a supervisor hands a goal to an
alias of two agents and answers with both results; child runs have hierarchical ids, the parent's
outcome lists them, and the depth limit stops a grandchild from delegating further."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Replayer

from infra.delegation.intent import DELEGATE_INTENT
from infra.gateway.service import tool
from infra.settings import AgentSettings, Settings
from tests.admin import grant
from tests.conftest import TenantFactory
from tests.harness import running
from workers.agent import runtime_worker
from workers.runtime import build_runtime
from workflows import search
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import (
    AgentOutcome,
    AgentRunInput,
    AgentTarget,
    EventKind,
    Provider,
    StandardEvent,
)


def _delegating(agent: str, goal: str, answer: str) -> list[dict[str, Any]]:
    return [{"tool_calls": [{"name": "delegate", "arguments": {"agent": agent, "goal": goal}}]},
            {"content": answer}]


async def test_a_supervisor_delegates_to_an_alias_of_two_agents_and_answers_with_both(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, settings: Settings,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    boss, alice, bob, carol = (f"{n}-{suffix}" for n in ("boss", "alice", "bob", "carol"))
    tenant = await make_tenant(agents=(boss, alice, bob, carol))
    r = await http.put(f"/admin/tenants/{tenant}/aliases/Reviewers", headers=admin,
                       json={"members": [alice, bob]})
    assert r.status_code in (200, 201), r.text
    for agent in (boss, bob, carol):
        await grant(http, admin, tenant, agent, "delegate", "*")
    scripts = {
        boss: _delegating("Reviewers", "Review the login change", "Both: {last_tool_result}"),
        alice: [{"content": "Alice: looks good"}],
        bob: _delegating(carol, "Check the tests", "Bob: {last_tool_result}"),
        carol: _delegating(alice, "Ask Alice", "Carol: {last_tool_result}"),  # depth 3: refused
    }
    async with contextlib.AsyncExitStack() as stack:
        for agent, script in scripts.items():
            path = tmp_path / f"{agent}.json"
            path.write_text(json.dumps(script))
            runtime = await stack.enter_async_context(
                build_runtime(AgentSettings(llm="scripted", script=path), agent))
            await stack.enter_async_context(running(runtime_worker(temporal_client, tenant,
                                                                   runtime)))
        run_id = f"run/{tenant}/manual/{suffix}/{boss}"
        event = StandardEvent(tenant_id=tenant, provider=Provider.GITHUB, source_event="manual",
                              kind=EventKind.NEW_WORK_ITEM, title="Review the login change")
        handle = await temporal_client.start_workflow(
            "AgentRunWorkflow",
            AgentRunInput(run_id=run_id, event=event, gateway_queue=settings.gateway.task_queue,
                          target=AgentTarget(agent_id=boss,
                                             gateway_tools=[tool(DELEGATE_INTENT)])),
            id=run_id, task_queue=settings.temporal.task_queue, result_type=AgentOutcome)
        outcome: AgentOutcome = await handle.result()

    assert outcome.status == "answered", outcome
    answer = json.loads((outcome.final or "").removeprefix("Both: "))
    by_agent = {r["agent"]: r for r in answer["results"]}
    assert set(by_agent) == {alice, bob}
    assert by_agent[alice]["answer"] == "Alice: looks good"
    assert by_agent[bob]["run_id"] == f"{run_id}/delegate/{bob}"
    assert by_agent[bob]["answer"].startswith("Bob: ") and "Carol: " in by_agent[bob]["answer"]
    assert "limit is 2" in by_agent[bob]["answer"]  # carol, two levels down, may not delegate
    assert outcome.delegated == [f"{run_id}/delegate/{alice}", f"{run_id}/delegate/{bob}"]
    # the run tree: each child's parent is the run that delegated to it
    grandchild = f"{run_id}/delegate/{bob}/delegate/{carol}"
    described = await temporal_client.get_workflow_handle(grandchild).describe()
    assert described.parent_id == f"{run_id}/delegate/{bob}"
    assert described.typed_search_attributes.get(search.TRIGGER) == "delegation"
    audit = (await http.get(f"/admin/tenants/{tenant}/audit?intent=delegate",
                            headers=admin)).json()
    assert sorted((a["agent_id"], a["resource"], a["outcome"]) for a in audit) == sorted([
        (boss, "Reviewers", "ok"), (bob, carol, "ok")])
    history = await handle.fetch_history()
    await Replayer(workflows=[AgentRunWorkflow],
                   data_converter=temporal_client.data_converter).replay_workflow(history)
