"""Batch agents on Temporal Schedules (issue #15 part 2) over the real API, Temporal and
PostgreSQL: a schedule is a real Temporal Schedule, its trigger makes a run listed with trigger
``schedule`` that counts in usage, and pausing it in Temporal (as the UI does) stops its runs."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from temporalio import activity
from temporalio.client import Client, ScheduleIntervalSpec, ScheduleOverlapPolicy

from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_runs import wait_listed
from workers.agent import Think, agent_worker
from workers.runtime.demo import demo_answer
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.names import THINK_ACTIVITY


def demo_with_usage(agent: str) -> Think:
    """The demo policy's answer, with a usage the economy counts."""

    @activity.defn(name=THINK_ACTIVITY)
    async def think(inp: ThinkInput) -> ThinkOutput:
        return ThinkOutput(final=demo_answer(agent, inp.event),
                           usage=Usage(model="demo", input_tokens=7, output_tokens=3))

    return think


async def test_schedule_is_a_temporal_schedule_and_its_trigger_runs_the_agent(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"batch-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    path = f"/admin/tenants/{tenant}/agents/{agent}/schedules"
    body = {"cron": "0 9 * * MON", "goal": "weekly report", "timezone": "Europe/Paris",
            "jitter": "30s"}
    operator = admin  # the roles' rules: tests/test_runs.py
    r = await http.post(path, headers=admin, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    sid = made["id"]
    assert made["temporal_id"] == f"schedule/{tenant}/{agent}/{sid}"
    assert (made["cron"], made["every"], made["timezone"], made["jitter"], made["overlap"],
            made["paused"]) == ("0 9 * * MON", None, "Europe/Paris", "30s", "skip", False)
    assert made["next_runs"]
    found = await temporal_client.get_schedule_handle(made["temporal_id"]).describe()
    spec = found.schedule.spec
    # Temporal keeps the cron as a calendar: 09:00 on Mondays, in Paris
    [calendar] = spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(9, 9)]
    assert [(r.start, r.end) for r in calendar.day_of_week] == [(1, 1)]
    assert spec.time_zone_name == "Europe/Paris" and spec.jitter is not None
    assert spec.jitter.total_seconds() == 30
    assert found.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    # bad specs are refused
    for bad in ({"goal": "x"}, {**body, "every": "6h"}, {**body, "timezone": "Mars/Base"},
                {**body, "cron": "not a cron"}, {"every": "soon", "goal": "x"}):
        r = await http.post(path, headers=admin, json=bad)
        assert r.status_code == 422, (bad, r.text)
    async with running(agent_worker(temporal_client, tenant, agent, demo_with_usage(agent))):
        r = await http.post(f"{path}/{sid}/trigger", headers=operator)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 20
        while not (runs := (await http.get(f"/admin/tenants/{tenant}/runs", headers=operator,
                                           params={"trigger": "schedule"})).json()):
            assert time.monotonic() < deadline, "no schedule run listed"
            await asyncio.sleep(0.1)
        listed = await wait_listed(http, operator, tenant, runs[0]["run_id"],
                                   trigger="schedule")
    [run] = listed
    assert run["agent_id"] == agent and run["status"] == "answered"
    r = await http.get(f"/admin/tenants/{tenant}/runs/{run['run_id']}", headers=operator)
    assert "'weekly report'" in r.json()["final"] and f"schedule run by {sid}" in r.json()["final"]
    [total] = (await http.get("/admin/usage", headers=admin, params={"tenant_id": tenant})).json()
    assert (total["runs"], total["input_tokens"]) == (1, 7)  # it counts in usage
    # listed, changed, isolated, deleted
    deadline = time.monotonic() + 10
    while [s["id"] for s in (await http.get(path, headers=operator)).json()] != [sid]:
        assert time.monotonic() < deadline, "the schedule is not listed"
        await asyncio.sleep(0.1)
    r = await http.patch(f"{path}/{sid}", headers=admin, json={"every": "6h", "goal": "daily"})
    assert r.status_code == 200, r.text
    assert (r.json()["cron"], r.json()["every"], r.json()["goal"]) == (None, "6h", "daily")
    found = await temporal_client.get_schedule_handle(made["temporal_id"]).describe()
    assert found.schedule.spec.intervals == [ScheduleIntervalSpec(every=found.schedule.spec
                                                                  .intervals[0].every)]
    assert found.schedule.spec.intervals[0].every.total_seconds() == 6 * 3600
    other = await make_tenant(agents=(agent,))
    r = await http.get(f"/admin/tenants/{other}/agents/{agent}/schedules/{sid}", headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "unknown_schedule"
    r = await http.post(f"/admin/tenants/{other}/agents/{agent}/schedules/{sid}/trigger",
                        headers=admin)
    assert r.status_code == 404
    r = await http.delete(f"{path}/{sid}", headers=admin)
    assert r.status_code == 204, r.text
    r = await http.get(f"{path}/{sid}", headers=admin)
    assert r.status_code == 404


async def test_pausing_a_schedule_in_temporal_stops_its_runs(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"tick-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    path = f"/admin/tenants/{tenant}/agents/{agent}/schedules"
    r = await http.post(path, headers=admin, json={"every": "1s", "goal": "tick"})
    assert r.status_code == 201, r.text
    sid, temporal_id = r.json()["id"], r.json()["temporal_id"]
    schedule = temporal_client.get_schedule_handle(temporal_id)

    async def fired() -> int:
        return (await schedule.describe()).info.num_actions

    async with running(agent_worker(temporal_client, tenant, agent)):
        deadline = time.monotonic() + 10
        while await fired() < 1:
            assert time.monotonic() < deadline, "the schedule never fired"
            await asyncio.sleep(0.1)
        await schedule.pause(note="paused in the Temporal UI")  # what the UI's pause calls
        r = await http.get(f"{path}/{sid}", headers=admin)
        assert r.json()["paused"] is True and r.json()["note"] == "paused in the Temporal UI"
        at_pause = await fired()
        await asyncio.sleep(2.2)  # over two periods: a running schedule would fire twice
        assert await fired() == at_pause
        r = await http.patch(f"{path}/{sid}", headers=admin, json={"paused": False})
        assert r.status_code == 200 and r.json()["paused"] is False
        deadline = time.monotonic() + 10
        while await fired() <= at_pause:
            assert time.monotonic() < deadline, "the schedule did not resume"
            await asyncio.sleep(0.1)
        r = await http.delete(f"{path}/{sid}", headers=admin)
        assert r.status_code == 204
