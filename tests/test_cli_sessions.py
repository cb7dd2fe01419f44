"""``switchboard sessions list|show|pause|resume|close`` in its own process, against the real API,
PostgreSQL and Temporal: sessions seeded as rows (their workflow a real run nobody works on),
and a session made by a signed Slack message whose workflow applies what the command asks."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client

from tests.api.test_sessions_api import Seed, _signals, _workflow, seed  # noqa: F401 (fixture)
from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_cli_events import _cli
from tests.test_pipeline import wait_status
from tests.test_sessions import ROOT, HeldAgent, make_agent, post_slack
from workers.agent import agent_worker


async def test_sessions_are_listed_shown_paused_and_errors_are_one_line(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, seed: Seed,  # noqa: F811
    temporal_client: Client, pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    tenant = await make_tenant(agents=("ada", "bob"))
    workflow_id = f"session/{tenant}/ada/slack:C5:{uuid.uuid4().hex[:6]}"
    await _workflow(temporal_client, workflow_id)
    turns = [{"messages": [{"event_id": 3, "author": "U7", "text": "deploy status?",
                            "at": "2026-11-30T12:00:01+00:00"}],
              "answer": "green since 11:58",
              "tool_calls": [{"name": "github_read", "arguments": {"repo": "api"},
                              "result": "ok", "is_error": False}]}]
    ada = await seed(tenant, "ada", "slack:C5:1.1", "waiting", minutes=1,
                     workflow_id=workflow_id, turns=turns)
    bob = await seed(tenant, "bob", "slack:C5:2.2", "closed", minutes=2)
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")

    async def cli(*args: str) -> tuple[int, str, str]:
        return await _cli(tmp_path, "sessions", *args, "--tenant", tenant, "--api", api,
                          admin_token=token)

    code, out, err = await cli("list")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        (bob, "bob", "closed", "0", "slack:C5:2.2"), (ada, "ada", "waiting", "1", "slack:C5:1.1")]
    code, out, err = await cli("list", "--agent", "ada", "--json")
    assert [s["id"] for s in json.loads(out)] == [ada], err
    code, out, err = await cli("list", "--before", bob)
    assert [line.split()[0] for line in out.splitlines()[1:]] == [ada], err

    code, out, err = await cli("show", ada)
    assert code == 0, err
    assert f"session {ada}  waiting  agent ada  thread slack:C5:1.1" in out
    assert "turn 1 (done" in out and "  > U7: deploy status?" in out
    assert '  tool github_read({"repo": "api"}): ok' in out and "  < green since 11:58" in out
    code, out, err = await cli("show", ada, "--json")
    assert json.loads(out)["history"][0]["answer"] == "green since 11:58"

    code, out, err = await cli("pause", ada, "--no-wait")
    assert (code, out) == (0, f"session {ada}: pause requested (was waiting)\n"), err
    assert await _signals(temporal_client, workflow_id) == ["pause"]
    # Nothing applies it here (no worker runs this workflow): the wait says so and fails.
    code, out, err = await cli("pause", ada, "--timeout", "0.5")
    assert code == 1 and f"session {ada} is still waiting after 0.5 s" in err

    code, out, err = await cli("close", bob)
    assert code == 1 and out == ""
    assert err == f"switchboard sessions close: 409 session_closed: session {bob} is closed;" \
                  " nothing to close\n"
    code, out, err = await cli("show", "ses_0000000000000000")
    assert code == 1 and "404 unknown_session" in err and err.count("\n") == 1
    code, out, err = await cli("list", "--status", "sleeping")
    assert code == 2 and "invalid choice" in err


async def test_pause_resume_and_close_wait_until_the_workflow_applied_them(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, tmp_path: Path,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant)
    brain = HeldAgent(agent)
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")

    async def cli(*args: str) -> tuple[int, str, str]:
        return await _cli(tmp_path, "sessions", *args, "--tenant", tenant, "--api", api,
                          admin_token=token)

    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        first = await post_slack(http, tenant, "what broke last night?", ROOT)
        await wait_status(http, admin, tenant, first, {"dispatched"}, 1)
        code, out, err = await cli("list", "--agent", agent, "--json")
        [session] = json.loads(out)
        sid = session["id"]
        for action, was, now in (("pause", "waiting", "paused"), ("resume", "paused", "waiting"),
                                 ("close", "waiting", "closed")):
            code, out, err = await cli(action, sid)
            assert (code, out) == (0, f"session {sid}: {action} requested (was {was})\n"
                                      f"session {sid} is {now}\n"), err
    code, out, err = await cli("show", sid)
    assert f"session {sid}  closed  agent {agent}" in out and "  > U1: what broke last night?" \
        in out, err
