"""The runtime's think and run_tool activities, run by Temporal's ActivityEnvironment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from infra.settings import AgentSettings
from tests.workers.conftest import binary, think_input
from tests.workers.test_skills import AddArgs, Sum, registry
from workers.agent import DEMO_LABEL
from workers.runtime import (
    AgentRuntime,
    RuntimeConfigError,
    ScriptedLLM,
    SkillRegistry,
    build_runtime,
)
from workers.runtime.llm import LLMReply, Message, ToolSpec
from workflows.contracts import Step, ToolCall, ToolInput


class SlowLLM(ScriptedLLM):
    """A scripted LLM that takes its time, like a real one."""

    def __init__(self, replies: list[dict[str, Any]], delay: float) -> None:
        super().__init__(replies)
        self.delay = delay

    async def complete(self, messages: list[Message], tools: list[ToolSpec]) -> LLMReply:
        await asyncio.sleep(self.delay)
        return await super().complete(messages, tools)


def tool_input(name: str, arguments: dict[str, Any], call_id: str = "c1") -> ToolInput:
    return ToolInput(run_id="r", agent_id="coder", tenant_id="acme", turn=1,
                     call=ToolCall(id=call_id, name=name, arguments=arguments))


def recording_env(first: asyncio.Event | None = None
                  ) -> tuple[ActivityEnvironment, list[tuple[Any, ...]]]:
    env, beats = ActivityEnvironment(), []

    def beat(*details: Any) -> None:
        beats.append(details)
        if first is not None:
            first.set()

    env.on_heartbeat = beat
    return env, beats


async def test_demo_policy_without_an_llm() -> None:
    agent = AgentRuntime("coder")
    out = await ActivityEnvironment().run(agent.think, think_input())
    assert out.final == (f"{DEMO_LABEL} coder received new_work_item in acme/frontend from alice: "
                         "'Login button does nothing on Safari' "
                         "<https://github.com/acme/frontend/issues/7>")
    assert out.tool_calls == [] and out.usage is None
    assert agent.describe() == "LLM demo (deterministic offline policy, no LLM); 0 skills"


async def test_think_heartbeats_while_the_llm_works() -> None:
    agent = AgentRuntime("coder", SlowLLM([{"content": "done"}], delay=0.3), registry(),
                         heartbeat_every=0.02)
    env, beats = recording_env()
    out = await env.run(agent.think, think_input())
    assert out.final == "done"
    assert len(beats) >= 8, beats
    settled = len(beats)
    await asyncio.sleep(0.1)
    assert len(beats) == settled  # heartbeats stop with the step


async def test_run_tool_heartbeats_while_the_tool_works() -> None:
    skills = SkillRegistry()

    @skills.skill()
    async def slow_add(args: AddArgs) -> Sum:
        """Add, slowly."""
        await asyncio.sleep(0.3)
        return Sum(total=args.a + args.b)

    env, beats = recording_env()
    agent = AgentRuntime("coder", skills=skills, heartbeat_every=0.02)
    result = await env.run(agent.run_tool, tool_input("slow_add", {"a": 1, "b": 2}))
    assert (result.call_id, result.name, result.content) == ("c1", "slow_add", '{"total":3}')
    assert len(beats) >= 8, beats


async def test_cancellation_reaches_a_think_in_flight() -> None:
    agent = AgentRuntime("coder", SlowLLM([{"content": "never"}], delay=30), registry(),
                         heartbeat_every=0.02)
    beating = asyncio.Event()
    env, _ = recording_env(beating)
    task = asyncio.create_task(env.run(agent.think, think_input()))
    await asyncio.wait_for(beating.wait(), 5)
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_tool_errors_are_typed_and_not_retried() -> None:
    agent, env = AgentRuntime("coder", skills=registry()), ActivityEnvironment()
    with pytest.raises(ApplicationError) as unknown:
        await env.run(agent.run_tool, tool_input("rm_rf", {}))
    assert (unknown.value.type, unknown.value.non_retryable) == ("UnknownTool", True)
    assert unknown.value.message == "unknown tool 'rm_rf'; available tools: add, divide"
    with pytest.raises(ApplicationError) as invalid:
        await env.run(agent.run_tool, tool_input("add", {"a": 1}))
    assert (invalid.value.type, invalid.value.non_retryable) == ("InvalidToolArguments", True)
    assert invalid.value.message == "invalid arguments for add: b: Field required"
    failed = await env.run(agent.run_tool, tool_input("divide", {"a": 1, "b": 0}))
    assert (failed.content, failed.is_error) == ("cannot divide by zero", True)


async def test_a_template_that_cannot_render_is_not_retried() -> None:
    agent = AgentRuntime("coder", ScriptedLLM([{"content": "x"}]))
    agent.prompt.text = "Hello {agent.nickname}"  # bypasses the check made at load time
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(agent.think, think_input())
    assert (err.value.type, err.value.non_retryable) == ("InvalidPromptTemplate", True)
    assert "uses {agent.nickname}, which is not defined; available: {agent.id}" in err.value.message


async def test_scripted_llm_with_real_mcp_skills_from_settings(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"tool_calls": [{"name": "time_convert_time", "arguments": {
            "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}}]},
        {"content": "In Tokyo: {last_tool_result}"},
    ]))
    settings = AgentSettings(llm="scripted", script=script,
                             mcp=[f"time={binary('mcp-server-time')} --local-timezone UTC"])
    env = ActivityEnvironment()
    async with build_runtime(settings, "coder", heartbeat_every=0.05) as agent:
        assert agent.describe() == ("LLM scripted (2 replies); 2 skills: time_convert_time, "
                                    "time_get_current_time")
        first = await env.run(agent.think, think_input())
        assert [c.name for c in first.tool_calls] == ["time_convert_time"]
        result = await env.run(agent.run_tool, ToolInput(
            run_id="r", agent_id="coder", tenant_id="acme", turn=1, call=first.tool_calls[0]))
        assert not result.is_error and "T21:00:00+09:00" in result.content
        steps = [Step(tool_calls=first.tool_calls, results=[result])]
        final = await env.run(agent.think, think_input(turn=2, steps=steps))
        assert final.final is not None and final.final.startswith("In Tokyo: {")
        assert "T21:00:00+09:00" in final.final
        assert isinstance(agent.llm, ScriptedLLM)
        system = agent.llm.requests[0][0][0]["content"]
        assert "- time_convert_time: Convert time between timezones" in system
        assert [t["function"]["name"] for t in agent.llm.requests[0][1]] == [
            "time_convert_time", "time_get_current_time"]
    assert len(agent.skills) == 0  # the MCP server stopped with the block


@pytest.mark.parametrize(("settings", "message"), [
    (AgentSettings(llm="openai", api_key=None), "llm=openai needs an API key"),
    (AgentSettings(llm="openai", api_key=SecretStr("")), "llm=openai needs an API key"),
    (AgentSettings(llm="scripted"), "llm=scripted needs a script"),
    (AgentSettings(llm="scripted", script=Path("/nonexistent.json")), "cannot read LLM script"),
    (AgentSettings(prompt_file=Path("/nonexistent.txt")), "cannot read prompt template"),
    (AgentSettings(mcp=["no-such-mcp-server --flag"]), "cannot start MCP server"),
    (AgentSettings(mcp=["'unbalanced"]), "bad MCP server command line"),
], ids=["no-key", "empty-key", "no-script", "missing-script", "missing-prompt", "bad-mcp",
        "bad-quoting"])
async def test_misconfiguration_is_a_clear_error(settings: AgentSettings, message: str) -> None:
    with pytest.raises(RuntimeConfigError, match=message):
        async with build_runtime(settings, "coder"):
            pass


async def test_an_openai_runtime_from_settings_never_shows_its_key() -> None:
    settings = AgentSettings(llm="openai", api_key=SecretStr("sk-very-secret"),
                             base_url="http://127.0.0.1:9/v1", model="gpt-4o-mini")
    async with build_runtime(settings, "coder") as agent:
        assert agent.describe() == "LLM openai gpt-4o-mini at http://127.0.0.1:9/v1; 0 skills"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)
