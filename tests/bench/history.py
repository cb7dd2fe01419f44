"""Where an event's time went inside Temporal, read back from the workflows' histories."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

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
    """EventWorkflow start, think scheduled (wall clock), and the time per category between."""
    event = (await client.get_workflow_handle(event_id).fetch_history()).events
    run = (await client.get_workflow_handle(run_id).fetch_history()).events
    head = _until(event, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    tail = _until(run, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    return _seconds(head[0]), _seconds(tail[-1]), split(head + tail)
