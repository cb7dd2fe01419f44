"""A run's story from its Temporal history: the goal, each think's decision, each tool's result.

The history is the record: AgentRunWorkflow schedules ``think`` for every turn and
``tool/<turn>/<index>`` for every call a think asked for, and completes with its AgentOutcome.
Payloads are decoded with the client's data converter (and so its codec, if one is set).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from workflows.contracts import AgentOutcome, AgentRunInput, ThinkOutput, ToolResult
from workflows.names import THINK_ACTIVITY


@dataclass(frozen=True)
class ToolCallRecord:
    """A tool the agent asked for, and what it answered (None: not answered yet)."""

    turn: int
    call_id: str
    name: str
    arguments: dict[str, Any]
    target: str
    result: str | None = None
    is_error: bool = False


@dataclass
class Story:
    """What a run's history says so far."""

    goal: str | None = None
    turns: int = 0
    final: str | None = None
    error: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)


async def read_story(history: WorkflowHistory, convert: DataConverter) -> Story:
    """Read the goal, turns, final answer, error and tool calls from ``history``."""
    story = Story()
    scheduled: dict[int, tuple[str, int]] = {}  # event id -> ("think" | "tool", turn)
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            [inp] = await convert.decode(
                event.workflow_execution_started_event_attributes.input.payloads, [AgentRunInput])
            story.goal = str(inp.event.facts.get("goal") or inp.event.text or inp.event.title
                             or "") or None
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == THINK_ACTIVITY:
                story.turns += 1
                scheduled[event.event_id] = ("think", story.turns)
            elif attrs.activity_id.startswith("tool/"):
                scheduled[event.event_id] = ("tool", story.turns)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            step = scheduled.get(done.scheduled_event_id)
            if step is None or not done.result.payloads:
                continue
            if step[0] == "think":
                [decision] = await convert.decode(done.result.payloads, [ThinkOutput])
                story.final = decision.final if decision.final is not None else story.final
                story.tool_calls += [
                    ToolCallRecord(turn=step[1], call_id=c.id, name=c.name,
                                   arguments=c.arguments, target=c.target)
                    for c in decision.tool_calls]
            else:
                [result] = await convert.decode(done.result.payloads, [ToolResult])
                _answer(story, step[1], result)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            payloads = event.workflow_execution_completed_event_attributes.result.payloads
            if payloads:
                [outcome] = await convert.decode(payloads, [AgentOutcome])
                story.final, story.error = outcome.final or story.final, outcome.error
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            story.error = event.workflow_execution_failed_event_attributes.failure.message
    return story


def _answer(story: Story, turn: int, result: ToolResult) -> None:
    """Put a tool's result on the call of that turn it answers."""
    for i, call in enumerate(story.tool_calls):
        if call.turn == turn and call.call_id == result.call_id and call.result is None:
            story.tool_calls[i] = replace(call, result=result.content, is_error=result.is_error)
            return
