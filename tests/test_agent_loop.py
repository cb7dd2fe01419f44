"""The Think-Act-Observe loop end to end: webhook -> scripted LLM -> real MCP tool -> answer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client
from temporalio.worker import Replayer

from infra.settings import AgentSettings
from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import payload_env, running
from tests.test_pipeline import wait_status
from tests.workers.conftest import binary
from workers.agent import runtime_worker
from workers.runtime import build_runtime
from workflows.agent_run import AgentRunWorkflow

SWITCHBOARD = Path(sys.executable).parent / "switchboard"


async def post_issue(http: httpx.AsyncClient, tenant: str) -> dict[str, Any]:
    """Send the corpus GitHub issue; return the 202 body."""
    raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def step_attempts(client: Client, run_id: str) -> dict[str, list[int]]:
    """For each activity id of a run: the attempt numbers it was started with."""
    history = await client.get_workflow_handle(run_id).fetch_history()
    ids: dict[int, str] = {}
    started: dict[str, list[int]] = {}
    for ev in history.events:
        if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            ids[ev.event_id] = ev.activity_task_scheduled_event_attributes.activity_id
        elif ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = ev.activity_task_started_event_attributes
            started.setdefault(ids[attrs.scheduled_event_id], []).append(attrs.attempt)
    return started


async def test_scripted_agent_calls_a_real_mcp_tool_then_answers_in_two_turns(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"timekeeper-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "convert_time", "arguments": {
            "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}}],
         "input_tokens": 120, "output_tokens": 20},
        {"content": "Noon UTC is {last_tool_result}", "input_tokens": 180,
         "output_tokens": 30},
    ]))
    settings = AgentSettings(llm="scripted", script=script,
                             mcp=[f"{binary('mcp-server-time')} --local-timezone UTC"])
    async with build_runtime(settings, agent) as runtime, \
            running(runtime_worker(temporal_client, tenant, runtime)):
        accepted = await post_issue(http, tenant)
        event = await wait_status(http, admin, tenant, accepted["inbox_id"],
                                  {"dispatched"}, 1)
    [outcome] = event["outcomes"]
    assert (outcome["status"], outcome["turns"], outcome["tool_calls"]) == ("answered", 2, 1)
    assert "21:00" in outcome["final"]
    steps = await step_attempts(temporal_client, outcome["run_id"])
    # each think's usage is a local activity (a marker, no activity task): counted below
    assert steps == {"think/1": [1], "tool/1/0": [1], "think/2": [1]}
    history = await temporal_client.get_workflow_handle(outcome["run_id"]).fetch_history()
    replayer = Replayer(workflows=[AgentRunWorkflow], data_converter=temporal_client.data_converter)
    await replayer.replay_workflow(history)  # the tool-using loop replays deterministically
    [usage] = (await http.get("/admin/usage", params={"tenant_id": tenant},
                              headers=admin)).json()
    assert (usage["thinks"], usage["input_tokens"], usage["output_tokens"]) == (2, 300, 50)


def git(repo: Path, *args: str) -> str:
    """Run real git in ``repo``."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


async def test_agent_worker_killed_mid_run_resumes_without_repeating_a_finished_step(
    tmp_path: Path, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q",
        "--allow-empty", "-m", "init")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "git_create_branch", "arguments": {
            "repo_path": str(repo), "branch_name": "feat/login"}}]},
        {"content": "Done: {last_tool_result}", "delay_seconds": 3},
    ]))
    agent = f"coder-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI"))}
    env["TEMPORAL_ADDRESS"] = temporal_client.service_client.config.target_host
    env |= payload_env()  # the worker opens the run's sealed payloads
    argv = [str(SWITCHBOARD), "agent", "run", "--agent-id", agent, "--tenant", tenant,
            "--llm", "scripted",
            "--script", str(script), "--mcp", f"{binary('mcp-server-git')} --repository {repo}"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    worker = start()
    try:
        accepted = await post_issue(http, tenant)
        run_id = f"run/{str(accepted['workflow_id']).removeprefix('event/')}/{agent}"
        async with asyncio.timeout(60):  # wait until turn 2's think is running on the worker
            while True:
                try:
                    desc = await temporal_client.get_workflow_handle(run_id).describe()
                    pending = desc.raw_description.pending_activities
                    if any(p.activity_id == "think/2"
                           and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                           for p in pending):
                        break
                except Exception:  # the run may not exist yet
                    pass
                await asyncio.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert "feat/login" in git(repo, "branch", "--list")
        worker = start()
        event = await wait_status(http, admin, tenant, accepted["inbox_id"],
                                  {"dispatched"}, 1, within=90)
    finally:
        worker.kill()
        worker.wait()
    [outcome] = event["outcomes"]
    assert outcome["status"] == "answered", outcome
    assert "feat/login" in outcome["final"] and "error" not in outcome["final"].lower()
    steps = await step_attempts(temporal_client, run_id)
    # The finished steps ran once; only the step cut off by the kill ran again.
    assert steps["think/1"] == [1] and steps["tool/1/0"] == [1]
    assert steps["think/2"][-1] == 2
    assert Counter(git(repo, "branch", "--list").split()) == Counter(["*", "main", "feat/login"])
