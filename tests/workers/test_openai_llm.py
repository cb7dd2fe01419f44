"""The OpenAI adapter through the real ``openai`` client against a local fake endpoint."""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tests.fakes.openai_server import FakeOpenAI
from tests.harness import free_port
from tests.workers.conftest import think_input
from tests.workers.test_skills import registry
from workers.runtime.agent import AgentRuntime
from workers.runtime.openai_llm import OpenAILLM
from workflows.contracts import Step, ToolCall, ToolInput, ToolResult, Usage

KEY = f"sk-test-{secrets.token_hex(16)}"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def runtime(base_url: str) -> AgentRuntime:
    llm = OpenAILLM(model="gpt-test", api_key=KEY, base_url=base_url, timeout=10)
    return AgentRuntime("coder", llm, registry())


async def failing_think(fake: FakeOpenAI) -> ApplicationError:
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(runtime(fake.base_url).think, think_input())
    assert len(fake.requests) == 1  # the client itself never retries: Temporal does
    return err.value


def assert_no_key(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err))
    assert KEY not in text and KEY not in repr(err.args)
    assert err.__cause__ is None


async def test_tool_call_round_trip(fake: FakeOpenAI) -> None:
    fake.call_tools(("call_a", "add", {"a": 2, "b": 40}), content="Let me add them.")
    fake.answer("The sum is 42.", prompt_tokens=30, completion_tokens=5)
    agent, env = runtime(fake.base_url), ActivityEnvironment()

    first = await env.run(agent.think, think_input(turn=1))
    assert first.final is None and first.thought == "Let me add them."
    assert first.tool_calls == [ToolCall(id="call_a", name="add", arguments={"a": 2, "b": 40})]
    assert first.usage == Usage(model="fake-model", input_tokens=11, output_tokens=7)

    result = await env.run(agent.run_tool, ToolInput(
        run_id="r", agent_id="coder", tenant_id="acme", turn=1, call=first.tool_calls[0]))
    assert (result.call_id, result.content, result.is_error) == ("call_a", '{"total":42}', False)

    steps = [Step(thought=first.thought, tool_calls=first.tool_calls, results=[result])]
    second = await env.run(agent.think, think_input(turn=2, steps=steps))
    assert second.final == "The sum is 42." and second.tool_calls == []
    assert second.usage == Usage(model="fake-model", input_tokens=30, output_tokens=5)

    one, two = (r.body for r in fake.requests)
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert one["model"] == "gpt-test"
    assert one["tools"] == two["tools"] == registry().specs()
    assert [m["role"] for m in one["messages"]] == ["system", "user"]
    assert "Login button does nothing on Safari" in one["messages"][1]["content"]
    assert [m["role"] for m in two["messages"]] == ["system", "user", "assistant", "tool"]
    assert two["messages"][0] == one["messages"][0]
    assert two["messages"][2] == {
        "role": "assistant", "content": "Let me add them.",
        "tool_calls": [{"id": "call_a", "type": "function",
                        "function": {"name": "add", "arguments": '{"a": 2, "b": 40}'}}]}
    assert two["messages"][3] == {"role": "tool", "tool_call_id": "call_a",
                                  "content": '{"total":42}'}


async def test_last_turn_offers_no_tools(fake: FakeOpenAI) -> None:
    fake.answer("Done.")
    calls = [ToolCall(id="c1", name="add", arguments={}), ToolCall(id="c2", name="divide")]
    failed = ToolResult(call_id="c2", name="divide", content="cannot divide by zero",
                        is_error=True)
    steps = [Step(tool_calls=calls, results=[failed])]
    out = await ActivityEnvironment().run(runtime(fake.base_url).think,
                                          think_input(turn=3, max_turns=3, steps=steps))
    assert out.final == "Done."
    body = fake.requests[0].body
    assert "tools" not in body
    assert body["messages"][3:5] == [
        {"role": "tool", "tool_call_id": "c1", "content": "no result (the tool did not run)"},
        {"role": "tool", "tool_call_id": "c2", "content": "error: cannot divide by zero"}]
    assert body["messages"][-1]["content"].startswith("This is your last turn")


async def test_429_is_retried_after_retry_after(fake: FakeOpenAI) -> None:
    fake.fail(429, "Rate limit reached for gpt-test", {"Retry-After": "7"})
    err = await failing_think(fake)
    assert (err.type, err.non_retryable) == ("LLMRateLimited", False)
    assert err.next_retry_delay == timedelta(seconds=7)
    assert err.message == "LLM endpoint answered 429: Rate limit reached for gpt-test"
    assert_no_key(err)


async def test_retry_after_ms_and_5xx(fake: FakeOpenAI) -> None:
    fake.fail(503, "overloaded", {"retry-after-ms": "1500"})
    err = await failing_think(fake)
    assert (err.type, err.non_retryable) == ("LLMUnavailable", False)
    assert err.next_retry_delay == timedelta(milliseconds=1500)


async def test_400_is_not_retried(fake: FakeOpenAI) -> None:
    fake.fail(400, "Invalid schema for function 'add'")
    err = await failing_think(fake)
    assert (err.type, err.non_retryable) == ("LLMRequestRejected", True)
    assert err.message == "LLM endpoint answered 400: Invalid schema for function 'add'"
    assert err.next_retry_delay is None


async def test_the_key_never_appears_in_errors(fake: FakeOpenAI) -> None:
    fake.fail(401, "Incorrect API key provided", echo_auth=True)
    err = await failing_think(fake)
    assert (err.type, err.non_retryable) == ("LLMRequestRejected", True)
    assert "Incorrect API key provided (you sent 'Bearer ***')" in err.message
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent, though
    assert_no_key(err)


async def test_unreachable_endpoint_is_retried() -> None:
    agent = runtime(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(agent.think, think_input())
    assert (err.value.type, err.value.non_retryable) == ("LLMUnavailable", False)
    assert err.value.message.startswith("LLM endpoint unreachable: Connection error")
    assert_no_key(err.value)


async def test_arguments_that_are_not_json_are_a_retryable_malformed_call(
        fake: FakeOpenAI) -> None:
    fake.call_tools(("call_x", "add", '{"a": 2, "b": '))
    err = await failing_think(fake)
    assert (err.type, err.non_retryable) == ("MalformedToolCall", False)
    assert err.message.startswith("LLM gave add arguments that are not JSON:")


def test_describe_never_shows_the_key() -> None:
    llm = OpenAILLM(model="gpt-test", api_key=KEY, base_url="http://llm.local/v1")
    assert llm.describe() == "openai gpt-test at http://llm.local/v1"
