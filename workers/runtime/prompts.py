"""System prompt templates, interpolated from the agent, the event, its context and the tools.

A template is ``str.format`` text with dotted fields (``{agent.name}``, ``{event.title}``,
``{tools}``, ``{context}``, ``{memory}``); literal braces are doubled. Every field must be one of
``PROMPT_VARIABLES``: a template naming another is refused when it is loaded, and rendering with
a variable missing raises ``PromptTemplateError`` naming it and the ones available.

Rendered prompts are cached by template and values: every turn of a run renders the same
system prompt, and the cache hands back the same string without formatting it again.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workflows.contracts import AgentProfile, ContextItem, MemoryItem, StandardEvent

PROMPT_VARIABLES = (
    "agent.id", "agent.name", "agent.role",
    "event.kind", "event.provider", "event.source", "event.tenant", "event.title", "event.text",
    "event.url", "event.actor", "event.container", "event.item",
    "context", "tools", "memory",
)
NONE = "(none)"

DEFAULT_TEMPLATE = """\
You are {agent.name} (agent id {agent.id}), an AI agent working with a software team.
Your role: {agent.role}

An event from {event.provider} was routed to you:
- kind: {event.kind} ({event.source})
- title: {event.title}
- from: {event.actor}
- where: {event.container} {event.item}
- url: {event.url}
- text: {event.text}

What you remember of this workspace:
{memory}

Context:
{context}

Tools you can call:
{tools}

Call a tool when you need facts you do not have or must act; the results come back to you.
When you are done, reply with your final answer for the team, short and concrete."""


class PromptTemplateError(ValueError):
    """A template that cannot be rendered: bad syntax or an unknown variable."""


class _Fields(string.Formatter):
    """Looks fields up by their full dotted name in one flat mapping."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
                  ) -> tuple[Any, str]:
        if field_name not in self.values:
            raise PromptTemplateError(missing_message(field_name, self.values))
        return self.values[field_name], field_name


def missing_message(field: str, available: Iterable[str]) -> str:
    """The error text for a variable a template uses but nobody defines."""
    names = ", ".join("{" + n + "}" for n in sorted(available))
    return f"prompt template uses {{{field}}}, which is not defined; available: {names}"


def fields_of(template: str) -> list[str]:
    """The variables a template uses, in order."""
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as err:
        raise PromptTemplateError(f"prompt template is not valid: {err}") from None


@functools.lru_cache(maxsize=512)
def render_cached(template: str, values: tuple[tuple[str, str], ...]) -> str:
    """Render ``template`` with ``values`` (memoized: same inputs, same string object)."""
    try:
        return _Fields(dict(values)).format(template)
    except (ValueError, IndexError, KeyError) as err:
        if isinstance(err, PromptTemplateError):
            raise
        raise PromptTemplateError(f"prompt template cannot be rendered: {err}") from None


class PromptTemplate:
    """A system prompt template, checked when loaded."""

    def __init__(self, text: str, source: str = "the default template") -> None:
        self.text = text
        self.source = source
        for field in fields_of(text):
            if field not in PROMPT_VARIABLES:
                raise PromptTemplateError(f"{source}: {missing_message(field, PROMPT_VARIABLES)}")

    @classmethod
    def default(cls) -> PromptTemplate:
        """The built-in template."""
        return cls(DEFAULT_TEMPLATE)

    @classmethod
    def from_file(cls, path: Path) -> PromptTemplate:
        """A template read from a UTF-8 text file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise PromptTemplateError(f"cannot read prompt template {path}: "
                                      f"{err.strerror}") from None
        return cls(text, source=str(path))

    def render(self, values: Mapping[str, str]) -> str:
        """The prompt for these values (cached)."""
        try:
            return render_cached(self.text, tuple(sorted(values.items())))
        except PromptTemplateError as err:
            raise PromptTemplateError(f"{self.source}: {err}") from None


def tool_lines(tools: Iterable[tuple[str, str]]) -> str:
    """The tools as a list, one ``- name: description`` a line."""
    lines = [f"- {name}: {desc.strip().splitlines()[0]}" if desc.strip() else f"- {name}"
             for name, desc in tools]
    return "\n".join(lines) or NONE


def context_lines(items: Iterable[ContextItem]) -> str:
    """Context items as the prompt shows them: source, title and link, then the text."""
    return "\n\n".join(
        f"[{i.source}] {i.title}" + (f" <{i.url}>" if i.url else "") + f"\n{i.text.strip()}"
        for i in items)


def memory_lines(items: Iterable[MemoryItem]) -> str:
    """The agent's memory as the prompt shows it: core facts (``key: value``), then what it
    kept from earlier sessions."""
    listed = list(items)
    core = [f"- {i.key}: {i.text.strip()}" for i in listed if i.type == "core"]
    episodic = [f"- {i.text.strip()}" for i in listed if i.type == "episodic"]
    parts = []
    if core:
        parts.append("Core facts:\n" + "\n".join(core))
    if episodic:
        parts.append("From earlier sessions:\n" + "\n".join(episodic))
    return "\n\n".join(parts)


def prompt_values(profile: AgentProfile, event: StandardEvent, tools: str, context: str = "",
                  memory: str = "") -> dict[str, str]:
    """Every template variable, from the agent, the event, the tools, the context and the
    agent's memory."""
    actor = event.actor
    who = (actor.name or actor.id) if actor else None
    raw: dict[str, str | None] = {
        "agent.id": profile.agent_id, "agent.name": profile.name or profile.agent_id,
        "agent.role": profile.role, "event.kind": event.kind.value,
        "event.provider": event.provider.value, "event.source": event.source_event,
        "event.tenant": event.tenant_id, "event.title": event.title, "event.text": event.text,
        "event.url": event.url, "event.actor": who,
        "event.container": event.ref.container if event.ref else None,
        "event.item": event.ref.item if event.ref else None,
        "context": context, "tools": tools, "memory": memory,
    }
    return {k: (v.strip() if v and v.strip() else NONE) for k, v in raw.items()}
