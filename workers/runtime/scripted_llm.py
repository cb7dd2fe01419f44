"""A scripted LLM: replays given tool calls and answers in order, without tokens.

The reply to play is chosen from the conversation itself: the number of assistant messages in
it since the last earlier answer of a session (one per completed step, so ``turn - 1``). Each
run therefore replays the script from the start, concurrent runs do not interfere, and a retried
or resumed turn gets the same reply, as Temporal expects of a step that may run twice.

A script is a JSON list of replies::

    [{"tool_calls": [{"name": "convert_time", "arguments": {"time": "12:00", ...}}]},
     {"content": "It is {last_tool_result} in Tokyo."}]

``{last_tool_result}`` in a reply's content is replaced by what the tools of the previous step
answered, so a final answer can show that the observation reached the agent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator
from temporalio.exceptions import ApplicationError

from workers.runtime.llm import LLMReply, Message, ToolSpec
from workflows.contracts import ToolCall, Usage
from workflows.errors import ErrorType

LAST_TOOL_RESULT = "{last_tool_result}"


class ScriptedCall(BaseModel):
    """A tool call the script makes."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="Default: call_<turn>_<index>")


class ScriptedReply(BaseModel):
    """One reply of the script: tool calls, a final answer, or both."""

    content: str | None = None
    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    delay_seconds: float = Field(default=0, ge=0, le=600,
                                 description="Simulated LLM latency before this reply")

    @model_validator(mode="after")
    def _says_something(self) -> ScriptedReply:
        if self.content is None and not self.tool_calls:
            raise ValueError("a scripted reply needs content or tool_calls")
        return self


_SCRIPT = TypeAdapter(list[ScriptedReply])


class ScriptedLLM:
    """Replays a script; records every request it got (for assertions)."""

    model = "scripted"

    def __init__(self, replies: Sequence[ScriptedReply | dict[str, Any]]) -> None:
        self.replies = [r if isinstance(r, ScriptedReply) else ScriptedReply.model_validate(r)
                        for r in replies]
        if not self.replies:
            raise ValueError("a script needs at least one reply")
        self.requests: list[tuple[list[Message], list[ToolSpec]]] = []

    @classmethod
    def from_file(cls, path: Path) -> ScriptedLLM:
        """Load a script from a JSON file (a list of replies)."""
        try:
            replies = _SCRIPT.validate_json(path.read_bytes())
        except OSError as err:
            raise ValueError(f"cannot read LLM script {path}: {err.strerror}") from None
        except ValidationError as err:
            raise ValueError(f"LLM script {path} is invalid: {err}") from None
        return cls(replies)

    def describe(self) -> str:
        """How long the script is."""
        return f"scripted ({len(self.replies)} replies)"

    async def aclose(self) -> None:
        """Nothing to release."""

    async def complete(self, messages: list[Message], tools: list[ToolSpec]) -> LLMReply:
        """The reply for this point of the conversation."""
        self.requests.append((messages, tools))
        index = steps_so_far(messages)
        if index >= len(self.replies):
            raise ApplicationError(
                f"the LLM script has {len(self.replies)} replies; turn {index + 1} asked for "
                "another", type=ErrorType.SCRIPT_EXHAUSTED, non_retryable=True)
        reply = self.replies[index]
        if reply.delay_seconds:
            await asyncio.sleep(reply.delay_seconds)
        calls = [ToolCall(id=c.id or f"call_{index + 1}_{i + 1}", name=c.name,
                          arguments=c.arguments) for i, c in enumerate(reply.tool_calls)]
        content = reply.content
        if content is not None and LAST_TOOL_RESULT in content:
            content = content.replace(LAST_TOOL_RESULT, _last_tool_result(messages))
        usage = Usage(model=self.model, input_tokens=reply.input_tokens,
                      output_tokens=reply.output_tokens)
        return LLMReply(content=content, tool_calls=calls, usage=usage)


def steps_so_far(messages: list[Message]) -> int:
    """Assistant tool-call messages after the session's last earlier answer (an assistant
    message without a ``tool_calls`` key, as workers/runtime/messages.py renders it)."""
    count = 0
    for m in messages:
        if m.get("role") == "assistant":
            count = count + 1 if "tool_calls" in m else 0
    return count


def _last_tool_result(messages: list[Message]) -> str:
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    return "\n".join(str(m.get("content", "")) for m in messages[last + 1:]
                     if m.get("role") == "tool")


def dump_script(replies: Sequence[ScriptedReply]) -> str:
    """A script as JSON, for writing script files."""
    return json.dumps([r.model_dump(exclude_defaults=True) for r in replies], indent=2)
