"""The conversation an LLM sees on one turn, in the OpenAI chat format.

System prompt, then (in a session) the conversation so far: the folded summary of its oldest
turns, and each earlier turn as the user's messages, the tools the agent called with what they
answered, and the agent's answer; then the event as the user's message, then for every step
taken so far the assistant's tool calls and one ``tool`` message per result (matched by
``tool_call_id``).
"""

from __future__ import annotations

import json

from workers.runtime.llm import Message
from workflows.contracts import StandardEvent, Step, ThinkInput
from workflows.contracts.conversation import Conversation, ConversationTurn

LAST_TURN_NOTE = ("This is your last turn: no more tools can run. Give your final answer now, "
                  "with what you know.")


def event_text(event: StandardEvent) -> str:
    """The event as the user's message: what happened, where, by whom, and its text."""
    lines = [f"{event.kind.value} from {event.provider.value} ({event.source_event})"]
    if event.ref and event.ref.container:
        item = f" #{event.ref.item}" if event.ref.item else ""
        lines.append(f"in: {event.ref.container}{item}")
    if event.actor and (event.actor.name or event.actor.id):
        lines.append(f"by: {event.actor.name or event.actor.id}")
    if event.title:
        lines.append(f"title: {event.title}")
    if event.url:
        lines.append(f"url: {event.url}")
    if event.mentions:
        lines.append(f"mentions: {', '.join(event.mentions)}")
    if event.assignees:
        lines.append(f"assignees: {', '.join(event.assignees)}")
    if event.text:
        lines += ["", event.text]
    return "\n".join(lines)


def step_messages(step: Step) -> list[Message]:
    """One step: the assistant's tool calls, then each tool's result."""
    calls = [{"id": c.id, "type": "function",
              "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
             for c in step.tool_calls]
    messages: list[Message] = [{"role": "assistant", "content": step.thought, "tool_calls": calls}]
    by_id = {r.call_id: r for r in step.results}
    for call in step.tool_calls:
        result = by_id.get(call.id)
        content = result.content if result else "no result (the tool did not run)"
        if result is not None and result.is_error:
            content = f"error: {content}"
        messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    return messages


def earlier_turn(turn: ConversationTurn) -> list[Message]:
    """An earlier turn of the session: what was said, the tools used, the answer given."""
    said = "\n".join(f"{m.author or 'someone'}: {m.text}" for m in turn.messages)
    messages: list[Message] = [{"role": "user", "content": f"(turn {turn.turn})\n{said}"}]
    if turn.tool_calls:
        used = "\n".join(f"- {t.name}({json.dumps(t.arguments)}) -> "
                         f"{'error: ' if t.is_error else ''}{t.result}" for t in turn.tool_calls)
        messages.append({"role": "user", "content": f"(tools you called in turn {turn.turn})\n"
                                                     f"{used}"})
    # An earlier answer carries no tool_calls: scripted_llm counts this turn's steps after it.
    messages.append({"role": "assistant", "content": turn.answer or "(no answer)"})
    return messages


def session_messages(conv: Conversation) -> list[Message]:
    """The conversation so far, before this turn's event."""
    messages: list[Message] = []
    if conv.summary:
        messages.append({"role": "user", "content": "(summary of the earliest turns of this "
                                                    f"conversation)\n{conv.summary}"})
    for turn in conv.turns:
        messages += earlier_turn(turn)
    return messages


def conversation(system_prompt: str, inp: ThinkInput) -> list[Message]:
    """Every message of this turn."""
    messages: list[Message] = [{"role": "system", "content": system_prompt}]
    if inp.conversation is not None:
        messages += session_messages(inp.conversation)
    messages.append({"role": "user", "content": event_text(inp.event)})
    for step in inp.steps:
        messages += step_messages(step)
    if inp.turn >= inp.max_turns and inp.steps:
        messages.append({"role": "user", "content": LAST_TURN_NOTE})
    return messages
