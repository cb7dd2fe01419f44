"""Batch agents: an agent's goal on a cron or an interval, each a real Temporal Schedule.

The schedule is the record (no table): ``schedule/<tenant>/<agent>/<sid>``, its spec (cron or
interval, time zone, jitter), its overlap policy, its paused state (pausing it in the Temporal
UI is the same as ``paused: true`` here) and its action, a TriggeredRunWorkflow whose input holds
the goal. Each firing starts ``trigger/<tenant>/schedule/<agent>/<sid>-<time>``, whose run is
listed with trigger ``schedule``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from infra.runs.goal import goal_event
from infra.runs.record import quote
from workflows import search
from workflows.contracts.runs import TriggeredRunInput
from workflows.triggered_run import TriggeredRunWorkflow, trigger_workflow_id

Overlap = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other",
                  "allow_all"]
OVERLAPS: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP, "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """``"6h"``, ``"1h30m"``, ``"45s"``, ``"2d"`` as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration such as 6h, 1h30m, 45s or 2d")
    seconds = sum(int(n) * _UNITS[u] for n, u in zip(match.groups(), "dhms", strict=True) if n)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """A timedelta as ``parse_duration`` reads it (``"0s"`` for zero)."""
    left, out = int(value.total_seconds()), ""
    for unit, size in _UNITS.items():
        if left >= size:
            out += f"{left // size}{unit}"
            left %= size
    return out or "0s"


@dataclass(frozen=True)
class ScheduleConfig:
    """What a schedule does and when."""

    goal: str
    cron: str | None = None
    every: str | None = None
    timezone: str = "UTC"
    jitter: str = "0s"
    overlap: Overlap = "skip"
    paused: bool = False


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as Temporal keeps it."""

    id: str
    agent_id: str
    temporal_id: str
    config: ScheduleConfig
    next_runs: list[datetime]
    recent_runs: list[str]
    note: str | None


def schedule_temporal_id(tenant_id: str, agent_id: str, sid: str) -> str:
    """The Temporal Schedule id: ``schedule/<tenant>/<agent>/<sid>``."""
    return f"schedule/{tenant_id}/{agent_id}/{sid}"


def new_schedule_id() -> str:
    """A fresh schedule id: ``sch_`` and 12 hex digits."""
    return "sch_" + secrets.token_hex(6)


def _schedule(tenant_id: str, agent_id: str, sid: str, config: ScheduleConfig,
              task_queue: str) -> Schedule:
    spec = ScheduleSpec(
        cron_expressions=[config.cron] if config.cron else [],
        intervals=[ScheduleIntervalSpec(every=parse_duration(config.every))] if config.every
        else [],
        time_zone_name=config.timezone, jitter=parse_duration(config.jitter))
    # Temporal keeps a cron as calendar specs: the expression itself rides in the goal's facts.
    event = goal_event(tenant_id, agent_id, config.goal, {}, "schedule", sid,
                       {"schedule_id": sid, "cron": config.cron, "every": config.every})
    action = ScheduleActionStartWorkflow(
        TriggeredRunWorkflow.run,
        TriggeredRunInput(agent_id=agent_id, trigger="schedule", event=event, schedule_id=sid),
        id=trigger_workflow_id(tenant_id, "schedule", f"{agent_id}/{sid}"),
        task_queue=task_queue, static_summary=f"scheduled run of {agent_id}")
    return Schedule(action=action, spec=spec,
                    policy=SchedulePolicy(overlap=OVERLAPS[config.overlap]),
                    state=ScheduleState(paused=config.paused,
                                        note="paused when created" if config.paused else None))


def _attributes(tenant_id: str, agent_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes([SearchAttributePair(search.TENANT, tenant_id),
                                  SearchAttributePair(search.AGENT, agent_id),
                                  SearchAttributePair(search.TRIGGER, "schedule")])


async def create(client: Client, task_queue: str, tenant_id: str, agent_id: str,
                 config: ScheduleConfig) -> str:
    """Create the Temporal Schedule; return its id (``sch_...``)."""
    sid = new_schedule_id()
    await client.create_schedule(
        schedule_temporal_id(tenant_id, agent_id, sid),
        _schedule(tenant_id, agent_id, sid, config, task_queue),
        search_attributes=_attributes(tenant_id, agent_id))
    return sid


def handle(client: Client, tenant_id: str, agent_id: str, sid: str) -> ScheduleHandle:
    """The schedule's handle (describe it to know it exists)."""
    return client.get_schedule_handle(schedule_temporal_id(tenant_id, agent_id, sid))


async def describe(client: Client, tenant_id: str, agent_id: str, sid: str) -> ScheduleRecord:
    """The schedule as Temporal has it (RPCError NOT_FOUND if there is none)."""
    found = await handle(client, tenant_id, agent_id, sid).describe()
    return await _record(client, agent_id, sid, found)


async def _record(client: Client, agent_id: str, sid: str, found: ScheduleDescription
                  ) -> ScheduleRecord:
    schedule = found.schedule
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    [inp] = await client.data_converter.decode(action.args, [TriggeredRunInput])
    spec, state = schedule.spec, schedule.state
    overlap = next((k for k, v in OVERLAPS.items()
                    if v == (schedule.policy.overlap or ScheduleOverlapPolicy.SKIP)), "skip")
    config = ScheduleConfig(
        goal=str(inp.event.facts.get("goal", "")),
        cron=inp.event.facts.get("cron"),
        every=format_duration(spec.intervals[0].every) if spec.intervals else None,
        timezone=spec.time_zone_name or "UTC", jitter=format_duration(spec.jitter or timedelta()),
        overlap=overlap, paused=state.paused)  # type: ignore[arg-type]
    recent = [a.action.workflow_id for a in found.info.recent_actions
              if hasattr(a.action, "workflow_id")]
    return ScheduleRecord(id=sid, agent_id=agent_id, temporal_id=found.id, config=config,
                          next_runs=list(found.info.next_action_times[:5]),
                          recent_runs=recent, note=state.note or None)


async def list_ids(client: Client, tenant_id: str, agent_id: str) -> list[str]:
    """The agent's schedule ids, as visibility lists them."""
    prefix = schedule_temporal_id(tenant_id, agent_id, "")
    query = (f"{search.TENANT.name} = {quote(tenant_id)} AND "
             f"{search.AGENT.name} = {quote(agent_id)}")
    ids = [s.id.removeprefix(prefix) async for s in await client.list_schedules(query)
           if s.id.startswith(prefix)]
    return sorted(ids)


async def update(client: Client, task_queue: str, tenant_id: str, agent_id: str, sid: str,
                 config: ScheduleConfig) -> None:
    """Replace the schedule's spec, policy and goal; pause or unpause it as ``config`` says."""
    target = handle(client, tenant_id, agent_id, sid)
    new = _schedule(tenant_id, agent_id, sid, config, task_queue)

    def change(current: ScheduleUpdateInput) -> ScheduleUpdate:
        new.state = current.description.schedule.state
        return ScheduleUpdate(schedule=new)

    await target.update(change)
    was = (await target.describe()).schedule.state.paused
    if config.paused and not was:
        await target.pause(note="paused through the admin API")
    elif was and not config.paused:
        await target.unpause(note="unpaused through the admin API")
