"""What one event costs: Temporal history events, tasks and visibility writes read back from the
workflows it ran, and the CPU each process of the stack used (issue #17, item 1)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

COUNTS = ("history events", "history kB", "workflow tasks", "activity tasks", "local activities",
          "search-attribute upserts", "starts with search attributes", "workflows")
_GATE = 16


def count(events: Sequence[HistoryEvent]) -> Counter[str]:
    """The costs one workflow history shows."""
    kinds = Counter(e.event_type for e in events)
    started = events[0].workflow_execution_started_event_attributes
    return Counter({
        "history events": len(events),
        "history kB": sum(e.ByteSize() for e in events) / 1000,  # payloads as stored
        "workflow tasks": kinds[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
        "activity tasks": kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
        "local activities": kinds[EventType.EVENT_TYPE_MARKER_RECORDED],
        "search-attribute upserts": kinds[EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES],
        "starts with search attributes": int(bool(started.search_attributes.indexed_fields)),
        "workflows": 1,
    })


async def settled_history(handle: WorkflowHandle[Any, Any], within: float = 30.0
                          ) -> Sequence[HistoryEvent]:
    """The workflow's history once it has no workflow task, activity or child in flight, so
    that it holds every step taken so far (a local activity's marker is written when its
    workflow task completes, and a session's last task runs after its run answered)."""
    async with asyncio.timeout(within):
        while True:
            found = (await handle.describe()).raw_description
            if not (found.HasField("pending_workflow_task") or found.pending_activities
                    or found.pending_children):
                return (await handle.fetch_history()).events
            await asyncio.sleep(0.05)


def outline(events: Sequence[HistoryEvent]) -> str:
    """A history in short: its event types in order (local activities named by marker)."""
    short = {"WORKFLOW_TASK_": "WFT", "ACTIVITY_TASK_": "AT", "WORKFLOW_EXECUTION_": "WE",
             "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "UPSERT", "MARKER_RECORDED": "LA",
             "CHILD_WORKFLOW_EXECUTION_": "CHILD", "START_CHILD_WORKFLOW_EXECUTION_": "START_CHILD"}
    names = []
    for event in events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        for long, brief in short.items():
            name = name.replace(long, brief)
        names.append(name.lower())
    return " ".join(names)


async def event_costs(client: Client, event_ids: Sequence[str], run_ids: Sequence[str]
                      ) -> tuple[dict[str, Counter[str]], dict[str, str]]:
    """Costs per workflow type, summed over the events (each EventWorkflow id with its run id),
    and one history of each type in short (``outline``).

    From each event the walk follows child workflows (its mirror, a run it starts itself) and
    the run's parent (its SessionWorkflow); a workflow reached as a parent counts for its share,
    1 / the children it started. A session still open is counted as far as its history goes, once
nothing is in flight in it.
    """
    gate = asyncio.Semaphore(_GATE)
    per_type: dict[str, Counter[str]] = defaultdict(Counter)
    samples: dict[str, str] = {}
    seen: set[str] = set()

    async def visit(workflow_id: str, run_id: str = "", *, share: bool = False) -> None:
        if workflow_id in seen:
            return
        seen.add(workflow_id)
        async with gate:
            events = await settled_history(
                client.get_workflow_handle(workflow_id, run_id=run_id or None))
        started = events[0].workflow_execution_started_event_attributes
        children = [e.child_workflow_execution_started_event_attributes.workflow_execution
                    for e in events if e.event_type
                    == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED]
        costs = count(events)
        if share and children:
            costs = Counter({k: v / len(children) for k, v in costs.items()})
        per_type[started.workflow_type.name].update(costs)
        samples.setdefault(started.workflow_type.name, outline(events))
        parent = started.parent_workflow_execution
        follow = [visit(c.workflow_id, c.run_id) for c in children if not share]
        if parent.workflow_id:
            follow.append(visit(parent.workflow_id, parent.run_id, share=True))
        await asyncio.gather(*follow)

    await asyncio.gather(*(visit(e) for e in event_ids), *(visit(r) for r in run_ids))
    return dict(per_type), samples


def cost_table(per_type: Mapping[str, Counter[str]], events: int) -> list[str]:
    """Lines: each figure per event, by workflow type and in total."""
    names = sorted(per_type)
    total: Counter[str] = Counter()
    for costs in per_type.values():
        total.update(costs)
    short = [n.removesuffix("Workflow")[:12] for n in names]
    lines = [f"  {'per event':<32}" + "".join(f"{s:>13}" for s in [*short, "total"])]
    for key in COUNTS:
        row = [per_type[n][key] / events for n in names] + [total[key] / events]
        lines.append(f"  {key:<32}" + "".join(f"{v:13.2f}" for v in row))
    return lines


def _tree_cpu(root: psutil.Process, *, children: bool = True) -> float:
    """CPU seconds of a process, its reaped children and (``children``) its live descendants."""
    procs = [root, *(root.children(recursive=True) if children else [])]
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + (t.children_user + t.children_system if children else 0)
    return total


class CpuMeter:
    """CPU seconds of named processes (each with its descendants) between start() and stop()."""

    def __init__(self, roots: Mapping[str, int], own: str) -> None:
        """``roots``: name -> pid; ``own``: the name of this process (counted without its
        children, which are the servers it started)."""
        self.roots = {name: psutil.Process(pid) for name, pid in roots.items()}
        self.own = own
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: _tree_cpu(proc, children=name != self.own)
                for name, proc in self.roots.items()}

    def start(self) -> None:
        """Take the first reading."""
        self.before = self._now()

    def stop(self) -> dict[str, float]:
        """CPU seconds each used since start()."""
        return {name: after - self.before[name] for name, after in self._now().items()}


def temporal_pid() -> int:
    """The Temporal dev server started by this process."""
    found = [p for p in psutil.Process().children(recursive=True) if p.name() == "temporal"]
    if not found:
        raise RuntimeError("no Temporal dev server below this process")
    return int(found[0].pid)


def postmaster_pid(backend_pid: int) -> int:
    """The PostgreSQL postmaster: the parent of a backend (``SELECT pg_backend_pid()``)."""
    return int(psutil.Process(backend_pid).ppid())
