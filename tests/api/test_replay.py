"""Event replay: a stored delivery runs again as a new event linked by ``replay_of``.

Against the real API, relay, PostgreSQL and Temporal workers; the agent is a recording think
activity on its own task queue, as in tests/test_pipeline.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from infra.inbox.relay import CHANNEL
from infra.inbox.store import insert_delivery
from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from tests.solo_tenant import solo_tenant
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workflows.contracts import EventResult, EventStatus

ISSUE = corpus.entry("github.issues.opened")
_DONE = {"dispatched", "ignored", "failed"}


async def _unreadable_delivery(pool: asyncpg.Pool, tenant: str) -> int:
    """A GitHub delivery the pipeline cannot read, in the inbox as the door stored it before it
    refused integers over 4,300 digits (valid JSON, which Python's json refuses): an inbox row
    that predates the check, written by the inbox's own insert and announced to the relay as
    the door announces one. The door itself now answers such a body 400."""
    raw = corpus.body(ISSUE).rstrip()[:-1] + b', "size": 1' + b"0" * 5000 + b"}"
    inbox_id = await insert_delivery(pool, tenant, "github", str(uuid.uuid4()), "issues", raw)
    assert inbox_id is not None
    await pool.execute(f"NOTIFY {CHANNEL}")
    return inbox_id


async def _deliver(http: httpx.AsyncClient, tenant: str, raw: bytes,
                   headers: dict[str, str]) -> int:
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 202, r.text
    inbox_id: int = r.json()["inbox_id"]
    return inbox_id


async def _events(http: httpx.AsyncClient, admin: dict[str, str], tenant: str
                  ) -> list[dict[str, Any]]:
    r = await http.get(f"/admin/tenants/{tenant}/events", headers=admin)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_a_failed_event_is_counted_then_replayed_by_filter_once(
    http: httpx.AsyncClient, pool: asyncpg.Pool, admin: dict[str, str],
    make_tenant: TenantFactory, temporal_client: Client,
) -> None:
    tenant = await make_tenant()
    base = f"/admin/tenants/{tenant}/events"
    failed = await _unreadable_delivery(pool, tenant)
    event = await wait_status(http, admin, tenant, failed, _DONE)
    assert event["status"] == "failed" and "cannot normalize" in event["reason"]
    ignored = await _deliver(http, tenant, *corpus.live_request(ISSUE))  # no agent: ignored
    assert (await wait_status(http, admin, tenant, ignored, _DONE))["status"] == "ignored"

    dry = await http.post(f"{base}/replay", headers=admin,
                          json={"status": "failed", "provider": "github", "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"count": 1, "event_ids": [failed]}
    assert len(await _events(http, admin, tenant)) == 2  # the dry run wrote nothing

    key = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    request = {"status": "failed", "received_after": "2000-01-01T00:00:00Z",
               "received_before": "2999-01-01T00:00:00+01:00", "limit": 10}
    r = await http.post(f"{base}/replay", headers={**admin, **key}, json=request)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["replayed"], done["repeated"]) == (1, False)
    [pair] = done["events"]
    assert pair["event_id"] == failed
    replay = await wait_status(http, admin, tenant, pair["replay_id"], _DONE)
    # It ran through its own workflow, as any delivery does, and failed as the original did.
    assert replay["replay_of"] == failed and replay["workflow_id"] == pair["workflow_id"]
    assert replay["status"] == "failed" and "cannot normalize" in replay["reason"]
    result = await temporal_client.get_workflow_handle(
        pair["workflow_id"], result_type=EventResult).result()
    assert result.status is EventStatus.FAILED
    original = (await http.get(f"{base}/{failed}", headers=admin)).json()
    assert (original["replays"], original["replay_of"]) == ([pair["replay_id"]], None)

    # The retried request (same key) replays nothing new, though the replay now matches too.
    again = await http.post(f"{base}/replay", headers={**admin, **key}, json=request)
    assert again.status_code == 200, again.text
    assert again.json() == {**done, "repeated": True}
    assert sorted(e["id"] for e in await _events(http, admin, tenant)) == sorted(
        [failed, ignored, pair["replay_id"]])
    dry = await http.post(f"{base}/replay", headers=admin,
                          json={"status": "failed", "dry_run": True})
    assert dry.json() == {"count": 2, "event_ids": [failed, pair["replay_id"]]}


async def test_replaying_one_event_reaches_the_agent_again_once(
    http: httpx.AsyncClient, pool: asyncpg.Pool, admin: dict[str, str],
    make_tenant: TenantFactory, temporal_client: Client,
) -> None:
    tenant, agent_id = await solo_tenant(make_tenant, http, admin)
    agent = RecordingAgent(agent_id)
    key = f"k-{uuid.uuid4().hex}"
    async with running(agent_worker(temporal_client, tenant, agent_id, agent.think)):
        original = await _deliver(http, tenant, *corpus.live_request(ISSUE))
        await wait_status(http, admin, tenant, original, {"dispatched"}, 1)
        url = f"/admin/tenants/{tenant}/events/{original}/replay"
        r = await http.post(url, headers={**admin, "Idempotency-Key": key})
        assert r.status_code == 202, r.text
        first = r.json()
        assert first["event_id"] == original and not first["repeated"]
        assert first["workflow_id"] == f"event/{tenant}/github/replay:{original}:{key}"
        seen = await agent.wait_for(2)
        replay = await wait_status(http, admin, tenant, first["replay_id"], {"dispatched"}, 1)
        retried = await http.post(url, headers={**admin, "Idempotency-Key": key})
        assert retried.status_code == 200, retried.text
        assert retried.json() == {**first, "repeated": True}
        other = await http.post(url, headers=admin)  # no key: a replay of its own
        assert other.status_code == 202 and other.json()["replay_id"] != first["replay_id"]
        await agent.wait_for(3)
    assert [s.run_id for s in seen[:2]] == [
        f"run/{tenant}/github/{ISSUE['headers']['X-GitHub-Delivery']}/{agent_id}",
        f"run/{tenant}/github/replay:{original}:{key}/{agent_id}"]
    assert seen[0].event.title == seen[1].event.title
    assert replay["replay_of"] == original and replay["agent_ids"] == [agent_id]
    shown = (await http.get(f"/admin/tenants/{tenant}/events/{original}", headers=admin)).json()
    assert shown["replays"] == [first["replay_id"], other.json()["replay_id"]]
    # A key that replayed one event does not replay another one.
    second = await _unreadable_delivery(pool, tenant)
    r = await http.post(f"/admin/tenants/{tenant}/events/{second}/replay",
                        headers={**admin, "Idempotency-Key": key})
    assert r.status_code == 409 and r.json()["error"] == "idempotency_key_reused"


async def test_another_tenants_event_is_not_found_and_a_viewer_may_not_replay(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    mine, theirs = await make_tenant(), await make_tenant()
    event = await _deliver(http, theirs, *corpus.live_request(ISSUE))
    r = await http.post(f"/admin/tenants/{mine}/events/{event}/replay", headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "unknown_event"
    r = await http.post(f"/admin/tenants/{mine}/events/replay", headers=admin,
                        json={"provider": "github"})
    assert r.json() == {"replayed": 0, "repeated": False, "events": []}
    r = await http.post("/admin/tenants/t-nobody-here/events/replay", headers=admin, json={})
    assert r.status_code == 404 and r.json()["error"] == "unknown_tenant"
    email = f"u-{uuid.uuid4().hex[:10]}@example.com"
    assert (await http.post("/admin/users", headers=admin,
                            json={"email": email, "password": "correct horse battery"})
            ).status_code == 201
    for tenant, role in ((theirs, "viewer"), (mine, "admin")):
        r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                           json={"role": role})
        assert r.status_code == 200, r.text
    login = await http.post("/auth/login",
                            json={"email": email, "password": "correct horse battery"})
    user = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = await http.post(f"/admin/tenants/{theirs}/events/{event}/replay", headers=user)
    assert r.status_code == 403, r.text  # a viewer reads the log but replays nothing
    r = await http.post(f"/admin/tenants/{mine}/events/{event}/replay", headers=user)
    assert r.status_code == 404, r.text  # an admin of one tenant: the other's event is not there
    assert [e["replays"] for e in await _events(http, admin, theirs)] == [[]]


async def test_bad_replay_requests_are_422(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    url = f"/admin/tenants/{tenant}/events/replay"
    for body in ({"limit": 0}, {"limit": 1001}, {"status": "lost"}, {"kind": "nope"},
                 {"provider": "gitlab"}, {"received_after": "0.5"},
                 {"received_before": "2026-01-01T00:00:00"}, {"statuses": ["failed"]},
                 {"dry_run": "maybe"}, {"dry_run": 0}, {"limit": "10"}):
        r = await http.post(url, headers=admin, json=body)
        assert r.status_code == 422, (body, r.text)
        assert set(r.json()) == {"error", "detail"}
    for key in ("has space", "x" * 129, "a/b"):
        r = await http.post(url, headers={**admin, "Idempotency-Key": key}, json={})
        assert r.status_code == 422, (key, r.text)
    r = await http.post(f"/admin/tenants/{tenant}/events/0/replay", headers=admin)
    assert r.status_code == 422, r.text
    r = await http.get(url, headers=admin)  # the bulk route's path, not an event called "replay"
    assert (r.status_code, r.headers["Allow"]) == (405, "POST"), r.text
