"""``switchboard agent run``: its errors, and a real run served end to end by the command.

The end-to-end test starts the command as a user would (scripted LLM, the real
mcp-server-time attached), runs AgentRunWorkflow on the session's real Temporal server against
it, then stops it with SIGTERM as ``switchboard up`` does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from cli.main import main
from infra.temporal import ensure_search_attributes
from tests.harness import payload_env, running
from tests.workers.conftest import binary, make_event
from workflows.agent_run import AgentRunWorkflow
from workflows.contracts import (
    AgentRunInput,
    AgentTarget,
    AlertInput,
    ControlGate,
    UsageRecord,
)

SWITCHBOARD = Path(sys.executable).parent / "switchboard"
SECRET = "sk-cli-secret-0123456789"


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """``agent run`` sets up the process's logging, as a long-running command does (its handler
    writes to the stderr of the moment): the other tests of this process get theirs back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "SWITCHBOARD_AGENT_API_KEY", "SWITCHBOARD_AGENT_LLM",
                 "SWITCHBOARD_AGENT_SCRIPT", "SWITCHBOARD_AGENT_MCP", "SWITCHBOARD_AGENT_TENANT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("argv", "message"), [
    (["--llm", "openai"], "llm=openai needs an API key: set SWITCHBOARD_AGENT_API_KEY or "
                          "OPENAI_API_KEY in the agent worker's environment"),
    (["--llm", "scripted"], "llm=scripted needs a script (--script FILE or "
                            "SWITCHBOARD_AGENT_SCRIPT)"),
    (["--prompt", "/nonexistent/prompt.txt"], "cannot read prompt template "
                                               "/nonexistent/prompt.txt: No such file"),
    (["--mcp", "no-such-mcp-server"], "cannot start MCP server 'no-such-mcp-server'"),
])
def test_misconfiguration_exits_2_with_a_clear_message(
        argv: list[str], message: str, no_keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["agent", "run", "--agent-id", "coder", "--tenant", "acme", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"switchboard agent run: {message}"), err


def test_an_agent_without_its_tenant_exits_2_saying_so(
        no_keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "run", "--agent-id", "coder"]) == 2
    assert capsys.readouterr().err.startswith(
        "switchboard agent run: the agent's tenant is required (--tenant or "
        "$SWITCHBOARD_AGENT_TENANT)")


class Economy:
    """Stands in for the platform's usage, alert and kill-switch gate activities."""

    def __init__(self) -> None:
        self.usage: list[UsageRecord] = []

    @activity.defn(name="record_usage")
    async def record_usage(self, usage: UsageRecord) -> None:
        self.usage.append(usage)

    @activity.defn(name="raise_alert")
    async def raise_alert(self, alert: AlertInput) -> None:
        raise AssertionError(f"unexpected alert {alert}")

    @activity.defn(name="control_gate")
    async def control_gate(self) -> ControlGate:
        return ControlGate(held=False)


async def read_until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    async with asyncio.timeout(30):
        while True:
            line = (await stream.readline()).decode()
            assert line, "switchboard agent run exited:\n" + "".join(seen)
            seen.append(line)
            if text in line:
                return line


async def test_agent_run_serves_a_run_with_scripted_llm_and_mcp(
        temporal_client: Client, tmp_path: Path) -> None:
    await ensure_search_attributes(temporal_client)
    agent_id, queue = f"cli-{uuid.uuid4().hex[:8]}", f"wf-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"content": "Checking.", "input_tokens": 100, "output_tokens": 20, "tool_calls": [
            {"name": "time_convert_time", "arguments": {
                "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}}]},
        {"content": "Noon UTC is {last_tool_result}", "input_tokens": 150, "output_tokens": 30},
    ]))
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "SWITCHBOARD_LOG_LEVEL": "INFO",
           "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": temporal_client.namespace, **payload_env()}
    proc = await asyncio.create_subprocess_exec(
        str(SWITCHBOARD), "agent", "run", "--agent-id", agent_id, "--tenant", "acme",
        "--llm", "scripted",
        "--script", str(script), "--mcp", f"time={binary('mcp-server-time')} --local-timezone UTC",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        line = await read_until(proc.stdout, "polling", seen)
        assert line.rstrip().endswith(
            f"agent {agent_id} of acme polling agent.acme.{agent_id}: LLM scripted (2 replies); "
            "2 skills: "
            "time_convert_time, time_get_current_time"), line
        economy = Economy()
        worker = Worker(temporal_client, task_queue=queue, workflows=[AgentRunWorkflow],
                        activities=[economy.record_usage, economy.raise_alert,
                                    economy.control_gate])
        async with running(worker):
            outcome = await temporal_client.execute_workflow(
                AgentRunWorkflow.run,
                AgentRunInput(run_id=f"run/test/{agent_id}", event=make_event(),
                              target=AgentTarget(agent_id=agent_id, max_turns=4)),
                id=f"run/test/{agent_id}", task_queue=queue,
                execution_timeout=timedelta(seconds=60))
        assert (outcome.status, outcome.turns, outcome.tool_calls) == ("answered", 2, 1)
        assert outcome.final is not None and outcome.final.startswith("Noon UTC is {")
        assert '"datetime": "' in outcome.final and "T21:00:00+09:00" in outcome.final
        assert [(u.model, u.input_tokens, u.output_tokens, u.tool_calls)
                for u in economy.usage] == [("scripted", 100, 20, 1), ("scripted", 150, 30, 0)]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 20)
        code = await asyncio.wait_for(proc.wait(), 20)
    output = "".join(seen) + rest.decode()
    assert code == 0, output
    assert f"agent {agent_id} stopped" in output
    assert SECRET not in output
