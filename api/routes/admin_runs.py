"""Admin: start an agent's run on a goal by hand, and read every run of a tenant.

Every run (webhook, manual, schedule, delegation) is an AgentRunWorkflow; the listing is
Temporal's visibility, a run's detail its history (infra/runs/record.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AdminDep, PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from api.routes.admin_agents import AGENT_ID
from infra.directory import agents as agent_dir
from infra.directory import tenants
from infra.runs import record
from infra.runs.goal import start_manual_run
from infra.runs.record import RunFilter, RunStatus, TriggerName
from infra.temporal import LazyClient
from workflows.contracts import AgentOutcome
from workflows.triggered_run import trigger_id_of_run

router = APIRouter(prefix="/admin/tenants", tags=["admin: runs"], dependencies=[AdminDep])
TEMPORAL_WITHIN_SECONDS = 10.0


class RunRequest(BaseModel):
    """A goal for the agent, with anything it should know."""

    goal: Text = Field(min_length=1, max_length=4000, description="What the agent should do")
    context: dict[str, Any] = Field(default_factory=dict, description=(
        "Facts for the agent (JSON object), shown to it after the goal"))


class RunStarted(BaseModel):
    """The run that was started."""

    run_id: str = Field(description="GET /admin/tenants/{t}/runs/{run_id} follows it")


class RunView(BaseModel):
    """One run as listed."""

    run_id: str = Field(description="The AgentRunWorkflow's id in Temporal")
    agent_id: str
    trigger: TriggerName = Field(description="What started it")
    status: RunStatus = Field(description=(
        "running, or waiting (for a worker of the agent, the kill switch, or before it starts),"
        " while it runs; then its outcome: answered, max_turns, expired or failed (rejected "
        "and interrupted are session turns')"))
    started_at: datetime
    closed_at: datetime | None


class ToolCallView(BaseModel):
    """A tool the agent called, and its answer (null until it answered)."""

    turn: int
    name: str
    arguments: dict[str, Any]
    target: str = Field(description="agent: a skill of the agent; gateway: an intent")
    result: str | None
    is_error: bool


class RunDetail(RunView):
    """A run with what it did."""

    goal: str | None = Field(description="The goal (manual, schedule) or the event's text")
    turns: int = Field(description="Thinks so far")
    final: str | None = Field(description="The final answer, once there is one")
    error: str | None = Field(description="Why it did not answer, if it did not")
    tool_calls: list[ToolCallView]
    delegated: list[str] = Field(default_factory=list, description=(
        "The runs it started as child workflows (delegate): their run ids, in order"))


@asynccontextmanager
async def temporal_errors(temporal: LazyClient, what: str) -> AsyncIterator[Client]:
    """Temporal's client; 503 (Retry-After) if it cannot be reached in time."""
    try:
        async with asyncio.timeout(TEMPORAL_WITHIN_SECONDS):
            yield await temporal.get()
    except TimeoutError:
        raise ApiError(503, "temporal_unavailable",
                       f"Temporal did not answer {what} within {TEMPORAL_WITHIN_SECONDS:g} s;"
                       " retry") from None
    except RPCError as err:
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            temporal.forget()
            raise ApiError(503, "temporal_unavailable",
                           f"cannot reach Temporal: {err.message}") from None
        raise


async def known_agent(pool: asyncpg.Pool, tenant_id: str, agent_id: str
                      ) -> agent_dir.AgentRecord:
    """The tenant's agent; 404 for an unknown tenant or agent."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    found = next((a for a in await agent_dir.list_agents(pool, tenant_id) if a.id == agent_id),
                 None)
    if found is None:
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")
    return found


@router.post("/{tenant_id}/agents/{agent_id}/runs", status_code=202,
             summary="Start a run of an agent on a goal", responses=error_responses(409))
async def start_run(tenant_id: str, agent_id: str, body: RunRequest, request: Request,
                    pool: PoolDep, temporal: TemporalDep, settings: SettingsDep) -> RunStarted:
    """The agent works on the goal as on any event (its grants, memory and the tenant's
    context for the goal; held while the kill switch is on). 409 if the agent is paused or
    offline. Operators may start runs."""
    agent = await known_agent(pool, tenant_id, agent_id)
    if agent.status != "active":
        raise ApiError(409, f"agent_{agent.status}",
                       f"agent {agent_id} is {agent.status}: it takes no work")
    principal = getattr(request.state, "principal", None)
    by = getattr(principal, "actor", None) or "admin"
    async with temporal_errors(temporal, "the start") as client:
        run_id = await start_manual_run(client, settings.temporal.task_queue, tenant_id,
                                        agent_id, body.goal, body.context, by)
    return RunStarted(run_id=run_id)


@router.get("/{tenant_id}/runs", summary="List runs, newest first")
async def list_runs(
    tenant_id: str, pool: PoolDep, temporal: TemporalDep,
    agent: Annotated[str | None, Query(pattern=AGENT_ID, description="Only this agent's")] = None,
    trigger: TriggerName | None = None,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunView]:
    """Every run of the tenant, whatever started it (Temporal visibility: a run shows here a
    moment after it starts)."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    async with temporal_errors(temporal, "the listing") as client:
        runs = await record.list_runs(client, tenant_id, RunFilter(agent, trigger, status), limit)
    return [RunView(**r.__dict__) for r in runs]


@router.get("/{tenant_id}/runs/{run_id:path}", summary="Show a run")
async def get_run(
    tenant_id: str, pool: PoolDep, temporal: TemporalDep,
    run_id: Annotated[str, Path(min_length=1, max_length=1000, description=(
        'A run id, e.g. "run/acme/manual/0f3a.../triage"'))],
) -> RunDetail:
    """Its status, trigger, turns, final answer and tool calls (from its Temporal history)."""
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    unknown = ApiError(404, "unknown_run", f"tenant {tenant_id!r} has no run {run_id!r}")
    if not run_id.startswith(f"run/{tenant_id}/"):
        raise unknown
    async with temporal_errors(temporal, "the read") as client:
        try:
            found = await record.get_run(client, run_id)
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT:  # no workflow id looks like that
                raise unknown from None
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return await _not_started(client, run_id, unknown)
    if found is None:
        raise unknown
    calls = [ToolCallView(turn=c.turn, name=c.name, arguments=c.arguments, target=c.target,
                          result=c.result, is_error=c.is_error) for c in found.tool_calls]
    return RunDetail(**found.summary.__dict__, goal=found.goal, turns=found.turns,
                     final=found.final, error=found.error, tool_calls=calls,
                     delegated=found.delegated)


async def _not_started(client: Client, run_id: str, unknown: ApiError) -> RunDetail:
    """A manual or scheduled run whose AgentRunWorkflow has not started: waiting (planning,
    or held by the kill switch), or failed before it could start (the agent paused since)."""
    trigger_id = trigger_id_of_run(run_id)
    if trigger_id is None:
        raise unknown
    try:
        started = await client.get_workflow_handle(trigger_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise unknown from None
        raise
    error = None
    if started.status != WorkflowExecutionStatus.RUNNING:
        outcome = await client.get_workflow_handle(trigger_id, result_type=AgentOutcome).result()
        error = outcome.error or "the run did not start"
    trigger: TriggerName = "manual" if "/manual/" in trigger_id else "schedule"
    return RunDetail(
        run_id=run_id, agent_id=run_id.rsplit("/", 1)[-1], trigger=trigger,
        status="waiting" if error is None else "failed", started_at=started.start_time,
        closed_at=started.close_time, goal=None, turns=0, final=None, error=error,
        tool_calls=[])
