"""The record of every run, read from Temporal: visibility lists them, a run's history tells it.

Every run of every trigger is an ``AgentRunWorkflow`` named ``run/<tenant>/...``, so Temporal's
visibility already lists a tenant's runs (``WorkflowId STARTS_WITH 'run/<tenant>/'``) and a run's
history holds each think's decision and each tool's result: no table repeats them. Search
attributes narrow the listing and name each run's agent (a session's turn carries them too);
runs started before they did (and session turns begun before patch "session-turn-attributes")
are placed by their id: the agent is its last segment, the trigger ``webhook`` unless
``SwitchboardTrigger`` says otherwise (``delegation`` for a ``.../delegate/<agent>`` id).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError

from infra.runs.history import ToolCallRecord, read_story
from workflows import search
from workflows.names import THINK_ACTIVITY

RunStatus = Literal["running", "waiting", "answered", "max_turns", "expired", "failed",
                    "rejected", "interrupted"]
TriggerName = Literal["webhook", "manual", "schedule", "delegation"]
RUNNING = ("running", "waiting")
_FAILED = {WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED,
           WorkflowExecutionStatus.TIMED_OUT}
SCAN_LIMIT = 5000  # runs looked at per listing (filters the query cannot express run here)


@dataclass(frozen=True)
class RunFilter:
    """What a listing keeps."""

    agent_id: str | None = None
    trigger: TriggerName | None = None
    status: RunStatus | None = None


@dataclass(frozen=True)
class RunSummary:
    """One run as visibility lists it."""

    run_id: str
    agent_id: str
    trigger: TriggerName
    status: RunStatus
    started_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class RunDetail:
    """One run, told from its history."""

    summary: RunSummary
    goal: str | None
    turns: int
    final: str | None
    error: str | None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    delegated: list[str] = field(default_factory=list)


def quote(value: str) -> str:
    """A string literal of the visibility query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def listing_query(tenant_id: str, match: RunFilter) -> str:
    """The visibility query that narrows a tenant's runs to ``match`` (rows are then checked
    exactly: the query cannot tell an older run's agent or a webhook run's trigger)."""
    agent, trigger = search.AGENT.name, search.TRIGGER.name
    parts = ["WorkflowType = 'AgentRunWorkflow'",
             f"WorkflowId STARTS_WITH {quote(f'run/{tenant_id}/')}"]
    if match.agent_id is not None:
        parts.append(f"({agent} = {quote(match.agent_id)} OR {agent} IS NULL)")
    if match.trigger in ("manual", "schedule"):
        parts.append(f"{trigger} = {quote(match.trigger)}")
    elif match.trigger is not None:
        parts.append(f"({trigger} = {quote(match.trigger)} OR {trigger} IS NULL)")
    if match.status in RUNNING:
        parts.append("ExecutionStatus = 'Running'")
    elif match.status is not None:
        parts.append("ExecutionStatus != 'Running'")
    return " AND ".join(parts)


def agent_of(run_id: str, attributes: TypedSearchAttributes) -> str:
    """The run's agent: its attribute; a run started without one (older runs and session
    turns) by its id's last segment, an interrupted turn's ``.2`` restart suffix stripped."""
    agent = attributes.get(search.AGENT)
    if agent:
        return agent
    last = run_id.rsplit("/", 1)[-1]
    head, dot, tail = last.rpartition(".")
    return head if dot and tail.isdigit() else last


def trigger_of(run_id: str, attributes: TypedSearchAttributes) -> TriggerName:
    """What started the run."""
    trigger = attributes.get(search.TRIGGER)
    if trigger in ("manual", "schedule", "delegation", "webhook"):
        return trigger  # type: ignore[return-value]
    return "delegation" if "/delegate/" in run_id else "webhook"


def status_of(execution: WorkflowExecution) -> RunStatus:
    """running or waiting while it runs, then its outcome."""
    said = execution.typed_search_attributes.get(search.STATUS)
    if execution.status == WorkflowExecutionStatus.RUNNING:
        return "waiting" if said == "waiting" else "running"
    if execution.status == WorkflowExecutionStatus.CANCELED:
        return "interrupted"
    if execution.status in _FAILED:
        return "failed"
    if said in ("answered", "max_turns", "expired", "failed", "rejected", "interrupted"):
        return said  # type: ignore[return-value]
    return "answered"


def summary_of(execution: WorkflowExecution) -> RunSummary:
    """A listed execution as a run."""
    attrs = execution.typed_search_attributes
    return RunSummary(run_id=execution.id, agent_id=agent_of(execution.id, attrs),
                      trigger=trigger_of(execution.id, attrs), status=status_of(execution),
                      started_at=execution.start_time, closed_at=execution.close_time)


async def list_runs(client: Client, tenant_id: str, match: RunFilter, limit: int
                    ) -> list[RunSummary]:
    """The tenant's runs that match, newest first, at most ``limit``."""
    found: list[RunSummary] = []
    seen = 0
    async for execution in client.list_workflows(listing_query(tenant_id, match), page_size=100):
        seen += 1
        run = summary_of(execution)
        if run.status == "running":  # running or waiting: only its pending think tells
            run = await _refined(client, run)
        if (match.agent_id in (None, run.agent_id) and match.trigger in (None, run.trigger)
                and match.status in (None, run.status)):
            found.append(run)
        if len(found) >= limit or seen >= SCAN_LIMIT:
            break
    return found


async def _refined(client: Client, run: RunSummary) -> RunSummary:
    """A running run as ``waiting`` if its think sits in the agent's queue (one describe)."""
    try:
        description = await client.get_workflow_handle(run.run_id).describe()
    except RPCError:  # closed and gone meanwhile: as listed
        return run
    return replace(run, status="waiting") if _think_waits(description) else run


async def get_run(client: Client, run_id: str) -> RunDetail | None:
    """The run told from its history; None if there is no such AgentRunWorkflow."""
    handle = client.get_workflow_handle(run_id)
    description = await handle.describe()
    if description.workflow_type != "AgentRunWorkflow":
        return None
    summary = summary_of(description)
    if summary.status == "running" and _think_waits(description):
        summary = replace(summary, status="waiting")  # the same rule as the listing's
    story = await read_story(await handle.fetch_history(), client.data_converter)
    return RunDetail(summary=summary, goal=story.goal, turns=story.turns, final=story.final,
                     error=story.error, tool_calls=story.tool_calls,
                     delegated=story.delegated)


def _think_waits(description: WorkflowExecutionDescription) -> bool:
    """Whether a think is scheduled and no worker of the agent has taken it."""
    return any(p.activity_type.name == THINK_ACTIVITY
               and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
               for p in description.raw_description.pending_activities)
