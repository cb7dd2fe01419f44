"""Admin: batch agents, an agent's goal on a cron or an interval (real Temporal Schedules).

Each schedule is ``schedule/<tenant>/<agent>/<sid>`` in Temporal (visible, pausable and
triggerable in its UI as well as here); infra/runs/schedules.py keeps no table of them.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, StrictBool, model_validator
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AdminDep, PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from api.routes.admin_runs import known_agent, temporal_errors
from infra.runs import schedules
from infra.runs.schedules import Overlap, ScheduleConfig, ScheduleRecord, parse_duration

router = APIRouter(prefix="/admin/tenants", tags=["admin: schedules"], dependencies=[AdminDep])
ScheduleId = Annotated[str, Path(pattern=r"^sch_[0-9a-f]{12}$",
                                 description='A schedule id, e.g. "sch_0123456789ab"')]
Duration = Annotated[str, Field(pattern=r"^(\d{1,5}d)?(\d{1,6}h)?(\d{1,7}m)?(\d{1,8}s)?$",
                                description='A duration: "6h", "1h30m", "45s", "2d"')]


class _Fields(BaseModel):
    """Checks shared by a new schedule and a change."""

    @model_validator(mode="after")
    def _checked(self) -> _Fields:
        values = self.__dict__
        if values.get("cron") is not None and values.get("every") is not None:
            raise ValueError("give cron or every, not both")
        for name in ("every", "jitter"):
            if values.get(name) is not None:
                parse_duration(values[name])
        if values.get("every") is not None and parse_duration(values["every"]).total_seconds() < 1:
            raise ValueError("every must be at least 1s")
        if values.get("timezone") is not None:
            try:
                zoneinfo.ZoneInfo(values["timezone"])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "America": a folder
                raise ValueError(f"unknown time zone {values['timezone']!r}") from None
        return self


class ScheduleRequest(_Fields):
    """A goal for the agent and when to work on it: a cron or an interval."""

    goal: Text = Field(min_length=1, max_length=4000, description="What the agent should do")
    cron: Text | None = Field(default=None, max_length=200,
                              description='A cron expression, e.g. "0 9 * * MON"')
    every: Duration | None = Field(default=None, description='An interval, e.g. "6h"')
    timezone: Text = Field(default="UTC", max_length=64, description="IANA zone of the cron")
    jitter: Duration = Field(default="0s", description="Each run starts up to this much later")
    overlap: Overlap = Field(default="skip", description=(
        "A run still going when the next is due: skip it (default), buffer_one, buffer_all, "
        "cancel_other, terminate_other or allow_all"))
    paused: StrictBool = False

    @model_validator(mode="after")
    def _one_spec(self) -> ScheduleRequest:
        if self.cron is None and self.every is None:
            raise ValueError("give cron or every")
        return self


class ScheduleChange(_Fields):
    """Fields to change; the others stay. Giving cron drops every, and the other way round."""

    goal: Text | None = Field(default=None, min_length=1, max_length=4000)
    cron: Text | None = Field(default=None, max_length=200)
    every: Duration | None = None
    timezone: Text | None = Field(default=None, max_length=64)
    jitter: Duration | None = None
    overlap: Overlap | None = None
    paused: StrictBool | None = None


class ScheduleView(BaseModel):
    """A schedule as Temporal has it."""

    id: str
    agent_id: str
    temporal_id: str = Field(description="The Temporal Schedule's id (find it in its UI)")
    goal: str
    cron: str | None
    every: str | None
    timezone: str
    jitter: str
    overlap: Overlap
    paused: bool = Field(description="Paused here or in the Temporal UI: no runs start")
    note: str | None = Field(description="Temporal's note on its state (who paused it, why)")
    next_runs: list[datetime] = Field(description="The next times it fires")
    recent_runs: list[str] = Field(description="Workflow ids of its latest firings")


def _view(found: ScheduleRecord) -> ScheduleView:
    return ScheduleView(id=found.id, agent_id=found.agent_id, temporal_id=found.temporal_id,
                        note=found.note, next_runs=found.next_runs,
                        recent_runs=found.recent_runs, **found.config.__dict__)


async def _found(client: Client, tenant_id: str, agent_id: str, sid: str) -> ScheduleRecord:
    try:
        return await schedules.describe(client, tenant_id, agent_id, sid)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "unknown_schedule", f"agent {agent_id!r} of {tenant_id!r} has "
                                                    f"no schedule {sid!r}") from None
        raise


def _refused(err: RPCError) -> ApiError:
    """Temporal refusing a spec (a bad cron) as a 422."""
    return ApiError(422, "invalid_schedule", f"Temporal refused the schedule: {err.message}")


@router.post("/{tenant_id}/agents/{agent_id}/schedules", status_code=201,
             summary="Schedule an agent's goal", responses=error_responses(422))
async def create_schedule(tenant_id: str, agent_id: str, body: ScheduleRequest, pool: PoolDep,
                          temporal: TemporalDep, settings: SettingsDep) -> ScheduleView:
    """A Temporal Schedule that starts a run of the agent on the goal at each firing."""
    await known_agent(pool, tenant_id, agent_id)
    config = ScheduleConfig(**body.model_dump())
    async with temporal_errors(temporal, "the schedule") as client:
        try:
            sid = await schedules.create(client, settings.temporal.task_queue, tenant_id,
                                         agent_id, config)
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise _refused(err) from None
            raise
        return _view(await _found(client, tenant_id, agent_id, sid))


@router.get("/{tenant_id}/agents/{agent_id}/schedules", summary="List an agent's schedules")
async def list_schedules(tenant_id: str, agent_id: str, pool: PoolDep, temporal: TemporalDep
                         ) -> list[ScheduleView]:
    """Its schedules (Temporal's visibility: a new one shows a moment after it is made)."""
    await known_agent(pool, tenant_id, agent_id)
    async with temporal_errors(temporal, "the listing") as client:
        found = []
        for sid in await schedules.list_ids(client, tenant_id, agent_id):
            try:
                found.append(await schedules.describe(client, tenant_id, agent_id, sid))
            except RPCError as err:  # deleted between the listing and now
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
    return [_view(f) for f in found]


@router.get("/{tenant_id}/agents/{agent_id}/schedules/{schedule_id}", summary="Show a schedule")
async def get_schedule(tenant_id: str, agent_id: str, schedule_id: ScheduleId, pool: PoolDep,
                       temporal: TemporalDep) -> ScheduleView:
    """The schedule, its state and its next and latest firings."""
    await known_agent(pool, tenant_id, agent_id)
    async with temporal_errors(temporal, "the read") as client:
        return _view(await _found(client, tenant_id, agent_id, schedule_id))


@router.patch("/{tenant_id}/agents/{agent_id}/schedules/{schedule_id}",
              summary="Change a schedule", responses=error_responses(422))
async def change_schedule(tenant_id: str, agent_id: str, schedule_id: ScheduleId,
                          body: ScheduleChange, pool: PoolDep, temporal: TemporalDep,
                          settings: SettingsDep) -> ScheduleView:
    """Change its goal, timing, policy, or pause or unpause it."""
    await known_agent(pool, tenant_id, agent_id)
    given = body.model_dump(exclude_unset=True)
    if any(v is None for v in given.values()):
        raise ApiError(422, "invalid_request", "a field given cannot be null")
    async with temporal_errors(temporal, "the change") as client:
        now = (await _found(client, tenant_id, agent_id, schedule_id)).config.__dict__
        if "cron" in given:
            now["every"] = None
        if "every" in given:
            now["cron"] = None
        config = ScheduleConfig(**{**now, **given})
        try:
            await schedules.update(client, settings.temporal.task_queue, tenant_id, agent_id,
                                   schedule_id, config)
        except RPCError as err:
            if err.status == RPCStatusCode.INVALID_ARGUMENT:
                raise _refused(err) from None
            raise
        return _view(await _found(client, tenant_id, agent_id, schedule_id))


@router.delete("/{tenant_id}/agents/{agent_id}/schedules/{schedule_id}", status_code=204,
               summary="Delete a schedule")
async def delete_schedule(tenant_id: str, agent_id: str, schedule_id: ScheduleId,
                          pool: PoolDep, temporal: TemporalDep) -> Response:
    """No more firings; runs already started go on."""
    await known_agent(pool, tenant_id, agent_id)
    async with temporal_errors(temporal, "the delete") as client:
        await _found(client, tenant_id, agent_id, schedule_id)
        await schedules.handle(client, tenant_id, agent_id, schedule_id).delete()
    return Response(status_code=204)


class Triggered(BaseModel):
    """The firing that was asked for."""

    schedule_id: str
    requested: Literal["trigger"] = "trigger"


@router.post("/{tenant_id}/agents/{agent_id}/schedules/{schedule_id}/trigger", status_code=202,
             summary="Run a schedule now")
async def trigger_schedule(tenant_id: str, agent_id: str, schedule_id: ScheduleId,
                           pool: PoolDep, temporal: TemporalDep) -> Triggered:
    """Fire it once now, as the Temporal UI's trigger does (even when paused); its run is
    listed with trigger ``schedule``. Operators may trigger."""
    await known_agent(pool, tenant_id, agent_id)
    async with temporal_errors(temporal, "the trigger") as client:
        await _found(client, tenant_id, agent_id, schedule_id)
        await schedules.handle(client, tenant_id, agent_id, schedule_id).trigger(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    return Triggered(schedule_id=schedule_id)
