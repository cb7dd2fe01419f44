"""Where an event's time went inside Temporal, read back from the workflows' histories."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from workflows.contracts.sessions import SessionSubmit

QUEUE_WAIT = "task queue wait (matching -> poller)"
WORKER = "workflow tasks + local activities"
ACTIVITY = "activities through the server"
SERVER = "server steps (start, child start, scheduling)"
CATEGORIES = (QUEUE_WAIT, WORKER, ACTIVITY, SERVER)

_BY_TYPE = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: QUEUE_WAIT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: QUEUE_WAIT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: WORKER,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ACTIVITY,
}


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def _until(events: Sequence[HistoryEvent], last: EventType.ValueType) -> list[HistoryEvent]:
    """The events up to and including the first of type ``last``."""
    for i, event in enumerate(events):
        if event.event_type == last:
            return list(events[: i + 1])
    raise LookupError(f"no {EventType.Name(last)} in history")


def split(path: list[HistoryEvent]) -> dict[str, float]:
    """Seconds spent in each category between consecutive events of a critical path."""
    spent: dict[str, float] = defaultdict(float)
    for before, after in itertools.pairwise(path):
        spent[_BY_TYPE.get(after.event_type, SERVER)] += _seconds(after) - _seconds(before)
    return spent


async def critical_path(
    client: Client, event_id: str, run_id: str
) -> tuple[float, float, dict[str, float]]:
    """EventWorkflow start, think scheduled (wall clock), and the time per category between.

    Without a session the event starts the run itself. With one (README "Sessions"), the path
    is the event's history up to the session's taking of its message (signal "message" from
    the submit activity's signal-with-start, or the update of sessions before it, counted as a
    server step), the session's history from there to the run's start, then the run.
    """
    event = (await client.get_workflow_handle(event_id).fetch_history()).events
    run = (await client.get_workflow_handle(run_id).fetch_history()).events
    tail = _until(run, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    if any(e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
           for e in event):
        head = _until(event, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
        return _seconds(head[0]), _seconds(tail[-1]), split(head + tail)
    parent = run[0].workflow_execution_started_event_attributes.parent_workflow_execution
    session = (await client.get_workflow_handle(parent.workflow_id,
                                                run_id=parent.run_id).fetch_history()).events
    taken = [await _takes(client, e, event_id) for e in session]
    accepted = taken.index(True)
    started = next(i for i, e in enumerate(session) if i > accepted and e.event_type
                   == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
                   and e.start_child_workflow_execution_initiated_event_attributes
                   .workflow_id == run_id)
    middle = list(session[accepted:started + 1])
    head = [e for e in event if _seconds(e) <= _seconds(middle[0])]
    return _seconds(head[0]), _seconds(tail[-1]), split(head + middle + tail)


async def _takes(client: Client, event: HistoryEvent, event_id: str) -> bool:
    """Whether this session history event takes the message of EventWorkflow ``event_id``."""
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        return (event.workflow_execution_update_accepted_event_attributes.accepted_request.meta
                .update_id.startswith(f"{event_id}/"))
    signal = event.workflow_execution_signaled_event_attributes
    if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED or (
            signal.signal_name != "message"):
        return False
    [sent] = await client.data_converter.decode(signal.input.payloads, [SessionSubmit])
    return bool(sent.reply_to == event_id)
