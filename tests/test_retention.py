"""Retention over the real PostgreSQL and Temporal: the schedule's pass prunes what is past each
tenant's windows and nothing else, events keep their tombstone, and the run reports figures."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from temporalio.client import Client, ScheduleActionExecutionStartWorkflow
from temporalio.worker import Replayer

from infra.gateway.store import prune_audit
from infra.inbox.store import prune_bodies
from infra.retention.schedule import ensure_retention_schedule
from infra.settings import Settings
from tests.conftest import Platform
from workflows.contracts.retention import RetentionReport, TenantPruned
from workflows.retention import SCHEDULE_ID, RetentionWorkflow

DAY = timedelta(days=1)
TABLES = ("inbox_bodies", "audit", "activity_log", "usage", "alerts", "thread_messages")


async def _tenant(pool: asyncpg.Pool, prefix: str) -> str:
    tenant = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await pool.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", tenant)
    return tenant


async def _traffic(pool: asyncpg.Pool, tenant: str, at: datetime, n: int) -> None:
    """One row of every pruned kind, stamped ``at`` (relayed, dispatched deliveries)."""
    inbox_id = await pool.fetchval(
        "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body, received_at,"
        " relayed_at) VALUES ($1, 'github', $2, 'issues', $3, $4, $4) RETURNING id",
        tenant, f"d{n}", b'{"secret": "user text"}', at)
    await pool.execute(
        "INSERT INTO events (inbox_id, tenant_id, status, kind, event, agent_ids, updated_at)"
        " VALUES ($1, $2, 'dispatched', 'new_work_item', $3, '{coder}', $4)",
        inbox_id, tenant, {"text": "user text"}, at)
    await pool.execute(
        "INSERT INTO audit (tenant_id, agent_id, intent, decision, outcome, source, created_at)"
        " VALUES ($1, 'coder', 'github_push', 'allowed', 'ok', 'run', $2)", tenant, at)
    await pool.execute(
        "INSERT INTO activity_log (at, tenant_id, actor, action, outcome)"
        " VALUES ($2, $1, 'bootstrap-admin', 'agent.pause', 'ok')", tenant, at)
    await pool.execute(
        "INSERT INTO usage (tenant_id, agent_id, run_id, turn, model, created_at)"
        " VALUES ($1, 'coder', $2, 1, 'm', $3)", tenant, f"run/{tenant}/{n}", at)
    await pool.execute(
        "INSERT INTO alerts (tenant_id, kind, subject, detail, created_at)"
        " VALUES ($1, 'stuck', $2, 'd', $3)", tenant, f"s{n}", at)
    await pool.execute(
        "INSERT INTO thread_messages (tenant_id, provider, container, message_id, item, text,"
        " received_at) VALUES ($1, 'slack', 'C1', $2, '1.0', 'hello', $3)", tenant, f"{n}.0", at)


async def _kept(pool: asyncpg.Pool, tenant: str) -> dict[str, int]:
    """Rows of ``tenant`` still there, by the report's table names."""
    return {
        "inbox_bodies": await pool.fetchval(
            "SELECT count(*) FROM inbox WHERE tenant_id = $1 AND body IS NOT NULL", tenant),
        **{table: await pool.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1",
                                      tenant)
           for table in ("audit", "activity_log", "usage", "alerts", "thread_messages")},
    }


async def _run_schedule_once(client: Client, settings: Settings) -> RetentionReport:
    """Trigger the retention schedule, wait for its run, replay its history, return the result."""
    await ensure_retention_schedule(client, settings.temporal.task_queue, timedelta(days=1))
    handle = client.get_schedule_handle(SCHEDULE_ID)
    seen = len((await handle.describe()).info.recent_actions)
    await handle.trigger()
    async with asyncio.timeout(30):
        while len(actions := (await handle.describe()).info.recent_actions) == seen:
            await asyncio.sleep(0.1)
    started = actions[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    run = client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id,
                                     result_type=RetentionReport)
    report: RetentionReport = await run.result()
    replayer = Replayer(workflows=[RetentionWorkflow], data_converter=client.data_converter)
    await replayer.replay_workflow(await run.fetch_history())  # deterministic as written
    return report


async def test_the_schedule_prunes_past_each_tenants_windows_and_nothing_else(
        pool: asyncpg.Pool, platform: Platform, temporal_client: Client, settings: Settings,
    http: httpx.AsyncClient, admin: dict[str, str],
) -> None:
    short, default = await _tenant(pool, "ret-short"), await _tenant(pool, "ret-default")
    windows = dict.fromkeys(("inbox", "audit", "usage", "alerts", "threads"), 7)
    r = await http.patch(f"/admin/tenants/{short}", headers=admin, json={"retention": windows})
    assert (r.status_code, r.json()["retention"]) == (200, windows), r.text
    for bad in ({"inbox": 0}, {"bodies": 7}):
        r = await http.patch(f"/admin/tenants/{short}", headers=admin, json={"retention": bad})
        assert r.status_code == 422, r.text
    assert (await http.get(f"/admin/tenants/{default}", headers=admin)).json()["retention"] == {}
    now = datetime.now(UTC)
    # 500 days: past every default window; 20 days: past 7 days, inside every default; 1 day.
    for tenant in (short, default):
        for n, age in enumerate((500, 20, 1)):
            await _traffic(pool, tenant, now - age * DAY, n)
    expired, valid = f"jti-{uuid.uuid4().hex}", f"jti-{uuid.uuid4().hex}"
    await pool.execute("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2), ($3, $4)",
                       expired, now - 3 * DAY, valid, now + DAY)
    # Besides these, the PATCH calls above left fresh activity_log rows of their own.
    before = {t: await _kept(pool, t) for t in (short, default)}

    report = await _run_schedule_once(temporal_client, settings)

    by_tenant = {t.tenant_id: t for t in report.by_tenant}
    assert by_tenant[short] == TenantPruned(tenant_id=short, rows=dict.fromkeys(TABLES, 2))
    assert by_tenant[default] == TenantPruned(tenant_id=default, rows=dict.fromkeys(TABLES, 1))
    assert report.rows["revoked_tokens"] >= 1 and report.tenants >= 2
    for tenant, pruned in ((short, 2), (default, 1)):  # exactly those rows went, no other
        after = await _kept(pool, tenant)
        assert {t: before[tenant][t] - after[t] for t in TABLES} == dict.fromkeys(TABLES, pruned)
    assert await pool.fetchval("SELECT array_agg(jti) FROM revoked_tokens"
                               " WHERE jti = ANY($1::text[])", [expired, valid]) == [valid]
    # The tombstone: every delivery keeps its row and its event's status; the pruned ones lose
    # their body and normalized event, the others keep both.
    rows = await pool.fetch(
        "SELECT i.tenant_id, i.body IS NULL AS pruned, e.event IS NULL AS event_gone, e.status,"
        " e.kind, e.agent_ids FROM inbox i JOIN events e ON e.inbox_id = i.id"
        " WHERE i.tenant_id = ANY($1::text[]) ORDER BY i.tenant_id, i.id", [short, default])
    assert [(r["tenant_id"], r["pruned"], r["event_gone"], r["status"], r["kind"],
             r["agent_ids"]) for r in rows] == [
        (t, pruned, pruned, "dispatched", "new_work_item", ["coder"])
        for t, states in sorted({short: (True, True, False),
                                 default: (True, False, False)}.items())
        for pruned in states]
    # The admin API shows the tombstone and refuses to replay it.
    oldest = await pool.fetchval("SELECT min(id) FROM inbox WHERE tenant_id = $1", short)
    view = (await http.get(f"/admin/tenants/{short}/events/{oldest}", headers=admin)).json()
    assert (view["pruned"], view["status"], view["event"]) == (True, "dispatched", None), view
    r = await http.post(f"/admin/tenants/{short}/events/{oldest}/replay", headers=admin)
    assert (r.status_code, r.json()["error"]) == (409, "event_pruned"), r.text


async def test_prunes_go_in_batches_and_stop_at_the_window(pool: asyncpg.Pool) -> None:
    tenant, other = await _tenant(pool, "ret-batch"), await _tenant(pool, "ret-other")
    now = datetime.now(UTC)
    for n in range(8):  # five rows past 10 days, three inside, in time order as they arrive
        for t in (tenant, other):
            await _traffic(pool, t, now - (15 - n if n < 5 else 5) * DAY, n)
    before = now - 10 * DAY
    assert await prune_bodies(pool, tenant, before, batch=2) == 5
    assert await prune_audit(pool, tenant, before, batch=2) == 5
    assert await prune_bodies(pool, tenant, before, batch=2) == 0  # starts after the last pruned
    assert await prune_audit(pool, tenant, before, batch=2) == 0
    kept = await _kept(pool, tenant)
    assert (kept["inbox_bodies"], kept["audit"]) == (3, 3)
    assert await _kept(pool, other) == dict.fromkeys(TABLES, 8)  # another tenant: untouched
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant) == 8
