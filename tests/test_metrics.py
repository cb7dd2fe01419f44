"""``GET /metrics`` over the real API, Temporal and PostgreSQL: it changes as webhooks arrive."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from infra.inbox.store import record_agent_outcome, record_event
from infra.observability.settings import ObservabilitySettings
from infra.settings import Settings
from tests import corpus
from tests.admin import agent_token, bearer, grant, store_secret
from tests.api.test_replay import ISSUE
from tests.conftest import TenantFactory
from tests.harness import api_server
from tests.test_pipeline import wait_status
from workflows.contracts.events import EventStatus

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of /metrics, by name and sorted labels."""
    r = await http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 if absent)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_change_as_webhooks_arrive_and_events_are_dispatched(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    agent = f"m-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    before = await scrape(http)
    raw, headers = corpus.live_request(ISSUE)
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    again = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert again.status_code == 200  # a redelivery
    forged = await http.post(f"/webhooks/github/{tenant}", content=raw, headers={
        **headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status_code == 401
    await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"})
    after = await scrape(http)

    received = "switchboard_webhooks_received_total"
    for status, n in (("202", 1), ("200", 1), ("401", 1)):
        assert value(after, received, provider="github", status=status) - value(
            before, received, provider="github", status=status) == n, status
    assert value(after, "switchboard_webhook_answer_seconds_count", provider="github") - value(
        before, "switchboard_webhook_answer_seconds_count", provider="github") == 3
    assert value(after, "switchboard_events", status="dispatched") >= value(
        before, "switchboard_events", status="dispatched") + 1
    assert sum(value(after, "switchboard_events", status=s) for s in
               ("received", "dispatched", "ignored", "failed")) >= sum(
        value(before, "switchboard_events", status=s) for s in
        ("received", "dispatched", "ignored", "failed")) + 1
    assert ("switchboard_inbox_backlog", ()) in after
    assert value(after, "switchboard_relay_lag_seconds") >= 0
    assert value(after, "switchboard_kill_switch_stopped") == 0
    assert ("switchboard_approvals", (("state", "pending"),)) in after
    p50 = value(after, "switchboard_dispatch_latency_seconds", quantile="0.5")
    assert 0 < p50 < 20, p50
    assert tenant not in (await http.get("/metrics")).text  # no tenant ids in the figures


async def test_dispatch_latency_ends_when_the_event_is_dispatched_not_at_its_last_answer(
        pool: asyncpg.Pool) -> None:
    """The latency metric reads ``dispatched_at``: an agent's answer written minutes later (a
    long think) moves the row's ``updated_at``, not when the event was handed to its agents."""
    tenant = f"lat-{uuid.uuid4().hex[:8]}"
    await pool.execute("INSERT INTO tenants (id, name) VALUES ($1, $1)", tenant)
    inbox_id = await pool.fetchval(
        "INSERT INTO inbox (tenant_id, provider, dedup_key, event_name, body, received_at)"
        " VALUES ($1, 'github', 'd1', 'issues', '{}', now() - interval '2 seconds')"
        " RETURNING id", tenant)
    await record_event(pool, inbox_id, EventStatus.DISPATCHED, kind="new_work_item",
                       reason=None, event=None, agent_ids=["a", "b"], outcomes=[])
    first = await pool.fetchrow("SELECT dispatched_at, updated_at FROM events"
                                " WHERE inbox_id = $1", inbox_id)
    await asyncio.sleep(0.05)
    await record_agent_outcome(pool, inbox_id, {"agent_id": "a", "final": "done"})
    await record_event(pool, inbox_id, EventStatus.DISPATCHED, kind="new_work_item",
                       reason=None, event=None, agent_ids=["a", "b"],
                       outcomes=[{"agent_id": "b", "final": "done too"}])
    row = await pool.fetchrow("SELECT dispatched_at, updated_at, outcomes,"
                              " extract(epoch FROM dispatched_at - received_at) AS latency"
                              " FROM events JOIN inbox ON inbox.id = inbox_id"
                              " WHERE inbox_id = $1", inbox_id)
    assert row["dispatched_at"] == first["dispatched_at"]
    assert row["updated_at"] > first["updated_at"]
    assert len(row["outcomes"]) == 2
    assert 2 <= row["latency"] < 30


async def test_gateway_calls_and_breaker_refusals_are_counted(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    agent = f"m-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    r = await http.put(f"/admin/tenants/{tenant}/limits", headers=admin,
                       json={"intents": {"github_create_issue": 1}})
    assert r.status_code == 200, r.text
    await store_secret(http, admin, tenant, "github_token")
    await grant(http, admin, tenant, agent, "github_create_issue")
    auth = bearer(await agent_token(http, admin, tenant, agent))
    before = await scrape(http)
    codes = [(await http.post("/gateway/execute", headers={
        **auth, "Idempotency-Key": str(uuid.uuid4())}, json={
        "intent": "github_create_issue", "args": {"repo": "acme/frontend", "title": f"m {i}"}})
    ).status_code for i in range(2)]
    assert codes == [200, 429]
    after = await scrape(http)
    calls = "switchboard_gateway_calls_total"
    for outcome in ("ok", "refused"):
        assert value(after, calls, intent="github_create_issue", outcome=outcome) - value(
            before, calls, intent="github_create_issue", outcome=outcome) == 1, outcome
    refusals = "switchboard_breaker_refusals_total"
    assert value(after, refusals, reason="rate") - value(before, refusals, reason="rate") == 1


async def test_metrics_token_when_set_is_required(settings: Settings) -> None:
    guarded = settings.model_copy(update={"observability": ObservabilitySettings(
        metrics_token=SecretStr("scrape-7f3e1d-never-shown"))})
    async with api_server(guarded, run_relay=False) as url, \
            httpx.AsyncClient(base_url=url) as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        assert "SWITCHBOARD_METRICS_TOKEN" in refused.json()["detail"]
        wrong = await http.get("/metrics", headers=bearer("scrape-wrong"))
        assert wrong.status_code == 401
        samples = await scrape(http, bearer("scrape-7f3e1d-never-shown"))
        assert ("switchboard_inbox_backlog", ()) in samples
