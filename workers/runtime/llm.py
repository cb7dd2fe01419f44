"""What the runtime needs from an LLM: one chat turn with function calling.

Implementations: ``OpenAILLM`` (any OpenAI-compatible endpoint) and ``ScriptedLLM`` (replays a
script, for tests and demos without tokens). Messages and tool schemas use the OpenAI chat
format, which every compatible endpoint understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from workflows.contracts import ToolCall, Usage

Message = dict[str, Any]
ToolSpec = dict[str, Any]


@dataclass(frozen=True)
class LLMReply:
    """One completion: text, tool calls (or both), and what it cost."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None


class LLM(Protocol):
    """A chat model with function calling."""

    def describe(self) -> str:
        """What this LLM is, for the startup line (never a secret)."""
        ...

    async def complete(self, messages: list[Message], tools: list[ToolSpec]) -> LLMReply:
        """Answer the conversation, possibly by asking for tool calls."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
