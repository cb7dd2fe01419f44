"""The record of a run that delegated (issue #15 parts 1 and 4): a manual run of a supervisor
lists the child run it started, the delegate call shows the child's answer, and the child is
listed with trigger ``delegation``."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from infra.settings import AgentSettings
from tests.admin import grant
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_runs import wait_listed, wait_run
from workers.agent import runtime_worker
from workers.runtime import build_runtime


async def test_a_manual_run_that_delegates_lists_its_child_run(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    boss, helper = f"boss-{suffix}", f"helper-{suffix}"
    tenant = await make_tenant(agents=(boss, helper))
    await grant(http, admin, tenant, boss, "delegate", "*")
    scripts = {
        boss: [{"tool_calls": [{"name": "delegate",
                                "arguments": {"agent": helper, "goal": "count the bugs"}}]},
               {"content": "Done: {last_tool_result}"}],
        helper: [{"content": "12 bugs"}],
    }
    async with contextlib.AsyncExitStack() as stack:
        for agent, script in scripts.items():
            path = tmp_path / f"{agent}.json"
            path.write_text(json.dumps(script))
            runtime = await stack.enter_async_context(
                build_runtime(AgentSettings(llm="scripted", script=path), agent))
            await stack.enter_async_context(running(runtime_worker(temporal_client, tenant,
                                                                   runtime)))
        r = await http.post(f"/admin/tenants/{tenant}/agents/{boss}/runs", headers=admin,
                            json={"goal": "how many bugs?"})
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        run = await wait_run(http, admin, tenant, run_id)
    child = f"{run_id}/delegate/{helper}"
    assert run["status"] == "answered" and run["delegated"] == [child]
    [call] = run["tool_calls"]
    assert call["name"] == "delegate" and "12 bugs" in call["result"]
    listed = await wait_listed(http, admin, tenant, child, trigger="delegation")
    assert [(x["run_id"], x["agent_id"]) for x in listed] == [(child, helper)]
    r = await http.get(f"/admin/tenants/{tenant}/runs/{child}", headers=admin)
    assert r.json()["trigger"] == "delegation" and r.json()["final"] == "12 bugs"
