"""``switchboard events list|show|replay`` in its own process, against the real API and pipeline."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx

from tests.api.test_replay import ISSUE, _deliver, _unreadable_delivery
from tests.conftest import TenantFactory
from tests.corpus import live_request
from tests.test_pipeline import wait_status

DONE = {"dispatched", "ignored", "failed"}
PASSWORD = "correct horse battery"


async def _cli(config: Path, *args: str, admin_token: str | None = None, stdin: str = ""
               ) -> tuple[int, str, str]:
    """Run ``switchboard`` (the API runs on this loop: wait without blocking); code, out, err."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["XDG_CONFIG_HOME"] = str(config)
    if admin_token is not None:
        env["SWITCHBOARD_ADMIN_TOKEN"] = admin_token
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_failed_event_is_listed_counted_and_replayed_once_from_the_terminal(
    http: httpx.AsyncClient, pool: asyncpg.Pool, admin: dict[str, str],
    make_tenant: TenantFactory, tmp_path: Path,
) -> None:
    tenant = await make_tenant()
    failed = await _unreadable_delivery(pool, tenant)
    ignored = await _deliver(http, tenant, *live_request(ISSUE))
    for event in (failed, ignored):
        await wait_status(http, admin, tenant, event, DONE)
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")

    async def cli(*args: str) -> tuple[int, str, str]:
        return await _cli(tmp_path, "events", *args, "--tenant", tenant, "--api", api,
                          admin_token=token)

    code, out, err = await cli("list")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(int(r[0]), r[3]) for r in rows] == [(ignored, "ignored"), (failed, "failed")]

    code, out, err = await cli("replay", "--status", "failed", "--dry-run")
    assert (code, out) == (0, f"1 events match: {failed}\n"), err
    code, out, err = await cli("replay", "--status", "failed")  # no terminal to ask on
    assert code == 1 and "add --yes" in err
    key = f"cli-{uuid.uuid4().hex}"
    code, out, err = await cli("replay", "--status", "failed", "--yes", "--idempotency-key", key)
    assert code == 0, err
    [replay] = [e for e in (await http.get(f"/admin/tenants/{tenant}/events",
                                           headers=admin)).json() if e["replay_of"] == failed]
    assert f"1 events replayed: {failed}->{replay['id']}" in out
    assert "1 replays finished: 1 failed" in out
    assert "1/1 done" in err and key in err  # the progress bar, and the key to retry with

    code, out, err = await cli("replay", "--status", "failed", "--yes", "--idempotency-key", key)
    assert code == 0 and "(already, by this key)" in out, (out, err)
    code, out, err = await cli("show", str(failed))
    assert code == 0 and json.loads(out)["replays"] == [replay["id"]], err
    code, out, err = await cli("list", "--status", "failed", "--json")
    assert [e["id"] for e in json.loads(out)] == [replay["id"], failed]


async def test_a_logged_in_user_replays_on_its_own_tenant_and_errors_are_one_line(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, tmp_path: Path,
) -> None:
    tenant, other = await make_tenant(), await make_tenant()
    event = await _deliver(http, tenant, *live_request(ISSUE))
    await wait_status(http, admin, tenant, event, DONE)
    theirs = await _deliver(http, other, *live_request(ISSUE))
    api = str(http.base_url).rstrip("/")
    code, _, err = await _cli(tmp_path, "events", "list", "--api", api)
    assert code == 1 and "not logged in" in err and "SWITCHBOARD_ADMIN_TOKEN" in err

    email = f"u-{uuid.uuid4().hex[:10]}@example.com"
    r = await http.post("/admin/users", headers=admin, json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    for t, role in ((tenant, "admin"), (other, "viewer")):
        r = await http.put(f"/admin/tenants/{t}/members/{email}", headers=admin,
                           json={"role": role})
        assert r.status_code == 200, r.text
    code, out, err = await _cli(tmp_path, "login", "--email", email, "--api", api,
                                "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0, out + err

    code, _, err = await _cli(tmp_path, "events", "list")  # two tenants: which one?
    assert code == 1 and "--tenant is required" in err and tenant in err
    code, out, err = await _cli(tmp_path, "events", "replay", str(event), "--tenant", tenant)
    assert code == 0, err
    assert f"event {event} replayed as" in out and "1 replays finished: 1 ignored" in out
    code, _, err = await _cli(tmp_path, "events", "replay", str(theirs), "--tenant", tenant)
    assert code == 1 and "404 unknown_event" in err, err
    code, _, err = await _cli(tmp_path, "events", "replay", str(theirs), "--tenant", other)
    assert code == 1 and "403 forbidden" in err, err
    code, _, err = await _cli(tmp_path, "events", "replay", str(event), "--status", "failed",
                              "--tenant", tenant)
    assert code == 1 and "not both" in err
