"""The scripted LLM: replays tool calls and answers by the conversation's position."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from workers.runtime.llm import Message
from workers.runtime.scripted_llm import ScriptedLLM, ScriptedReply, dump_script
from workflows.contracts import ToolCall, Usage

SCRIPT: list[dict[str, Any]] = [
    {"content": "Checking the time.", "tool_calls": [
        {"name": "convert_time", "arguments": {"time": "12:00"}},
        {"name": "get_current_time", "arguments": {"timezone": "UTC"}, "id": "mine"}]},
    {"content": "Tokyo: {last_tool_result}", "input_tokens": 120, "output_tokens": 9},
]


def conversation(steps: int, results: tuple[str, ...] = ("21:00",)) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    for i in range(steps):
        messages.append({"role": "assistant", "content": None, "tool_calls": []})
        messages += [{"role": "tool", "tool_call_id": f"c{i}", "content": r} for r in results]
    return messages


async def test_replays_by_position_in_the_conversation() -> None:
    llm = ScriptedLLM(SCRIPT)
    first = await llm.complete(conversation(0), [{"type": "function"}])
    assert first.content == "Checking the time."
    assert first.tool_calls == [
        ToolCall(id="call_1_1", name="convert_time", arguments={"time": "12:00"}),
        ToolCall(id="mine", name="get_current_time", arguments={"timezone": "UTC"})]
    assert first.usage == Usage(model="scripted")
    second = await llm.complete(conversation(1, ("21:00", "03:00")), [])
    assert second.content == "Tokyo: 21:00\n03:00" and second.tool_calls == []
    assert second.usage == Usage(model="scripted", input_tokens=120, output_tokens=9)
    again = await llm.complete(conversation(0), [])  # a retried turn gets the same reply
    assert again == first
    assert [len(m) for m, _ in llm.requests] == [2, 5, 2]


async def test_concurrent_runs_each_replay_from_the_start() -> None:
    llm = ScriptedLLM(SCRIPT)
    replies = await asyncio.gather(*(llm.complete(conversation(n % 2), []) for n in range(6)))
    assert [r.content for r in replies] == ["Checking the time.", "Tokyo: 21:00"] * 3


async def test_running_out_of_script_is_not_retried() -> None:
    with pytest.raises(ApplicationError) as err:
        await ScriptedLLM(SCRIPT).complete(conversation(2), [])
    assert (err.value.type, err.value.non_retryable) == ("ScriptExhausted", True)
    assert err.value.message == "the LLM script has 2 replies; turn 3 asked for another"


def test_loads_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(dump_script([ScriptedReply.model_validate(r) for r in SCRIPT]))
    llm = ScriptedLLM.from_file(path)
    assert llm.replies == [ScriptedReply.model_validate(r) for r in SCRIPT]
    assert llm.describe() == "scripted (2 replies)"


def test_bad_scripts_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"tool_calls": []}]')
    with pytest.raises(ValueError, match="needs content or tool_calls"):
        ScriptedLLM.from_file(path)
    with pytest.raises(ValueError, match="cannot read LLM script"):
        ScriptedLLM.from_file(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="at least one reply"):
        ScriptedLLM([])
