"""A run's story from its Temporal history: the goal, each think's decision, each tool's result.

The history is the record: AgentRunWorkflow schedules ``think`` for every turn and
``tool/<turn>/<index>`` for every call a think asked for, and completes with its AgentOutcome.
Payloads are decoded with the client's data converter (and so its codec, if one is set).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from workflows.contracts import AgentOutcome, AgentRunInput, ThinkInput, ThinkOutput, ToolResult
from workflows.names import THINK_ACTIVITY

TOOL_STEP = re.compile(r"^tool/(\d+)/(\d+)$")  # AgentRunWorkflow's activity id of a tool call


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
    delegated: list[str] = field(default_factory=list)


async def read_story(history: WorkflowHistory, convert: DataConverter) -> Story:
    """Read the goal, turns, final answer, error, tool calls and child runs (``delegate``)
    from ``history``."""
    story = Story()
    scheduled: dict[int, tuple[str, int, int]] = {}  # event id -> (think|tool, turn, index)
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            [inp] = await convert.decode(
                event.workflow_execution_started_event_attributes.input.payloads, [AgentRunInput])
            story.goal = str(inp.event.facts.get("goal") or inp.event.text or inp.event.title
                             or "") or None
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            tool = TOOL_STEP.match(attrs.activity_id)
            if attrs.activity_type.name == THINK_ACTIVITY:
                story.turns += 1
                scheduled[event.event_id] = ("think", story.turns, 0)
                # what the agent observed: every result, also those the workflow itself made
                # (a delegation's answers, an approval's denial, a tool's failure)
                [seen] = await convert.decode(attrs.input.payloads, [ThinkInput])
                for turn, earlier in enumerate(seen.steps, start=1):
                    for result in earlier.results:
                        _answer(story, turn, result, again=True)
            elif tool is not None:
                scheduled[event.event_id] = ("tool", story.turns, int(tool[2]))
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
        elif kind in _TOOL_FAILED:  # the agent saw "tool failed: ..." as the observation
            failed = _TOOL_FAILED[kind](event)
            step = scheduled.get(failed.scheduled_event_id)
            if step is not None and step[0] == "tool":
                _failed(story, step[1], step[2], await _message(convert, failed.failure))
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            story.delegated.append(
                event.start_child_workflow_execution_initiated_event_attributes.workflow_id)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            payloads = event.workflow_execution_completed_event_attributes.result.payloads
            if payloads:
                [outcome] = await convert.decode(payloads, [AgentOutcome])
                story.final, story.error = outcome.final or story.final, outcome.error
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            story.error = await _message(
                convert, event.workflow_execution_failed_event_attributes.failure)
    return story


_TOOL_FAILED: dict[int, Callable[[HistoryEvent], Any]] = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        lambda e: e.activity_task_failed_event_attributes,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        lambda e: e.activity_task_timed_out_event_attributes,
}


async def _message(convert: DataConverter, failure: Failure) -> str:
    """A failure's message, decoded first (a payload codec may have encoded it)."""
    error = await convert.decode_failure(failure)
    return str(getattr(error, "message", None) or error)


def _failed(story: Story, turn: int, index: int, message: str) -> None:
    """Mark the ``index``-th call of ``turn`` as failed with ``message``."""
    of_turn = [i for i, c in enumerate(story.tool_calls) if c.turn == turn]
    if index < len(of_turn):
        i = of_turn[index]
        story.tool_calls[i] = replace(story.tool_calls[i], result=f"tool failed: {message}",
                                      is_error=True)


def _answer(story: Story, turn: int, result: ToolResult, again: bool = False) -> None:
    """Put a tool's result on the call of that turn it answers (``again``: also over one
    already there)."""
    for i, call in enumerate(story.tool_calls):
        if call.turn == turn and call.call_id == result.call_id and (
                again or call.result is None):
            story.tool_calls[i] = replace(call, result=result.content, is_error=result.is_error)
            return
