"""``switchboard tenants|agents|aliases|projects|usage`` in their own processes, against the
real API: tables for lists, progress for an import, one-line errors and exit status 1."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx

from tests.test_cli_events import _cli


async def test_an_admin_sets_up_a_tenant_from_the_terminal(
        http: httpx.AsyncClient, admin: dict[str, str], tmp_path: Path) -> None:
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")
    tenant = f"t-{uuid.uuid4().hex[:12]}"

    async def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
        return await _cli(tmp_path, *args, "--api", api, admin_token=token, stdin=stdin)

    code, out, err = await cli("tenants", "create", tenant, "--name", "Acme",
                               "--default-agent", "triager")
    assert code == 0 and f"tenant {tenant} created" in out, err
    code, out, err = await cli("agents", "create", "triager", "--tenant", tenant,
                               "--role", "sorts new issues")
    assert code == 0 and f"agent triager created in {tenant}" in out, err
    projects = tmp_path / "projects.json"
    projects.write_text(json.dumps([
        {"id": "web", "name": "Website", "mappings": [
            {"provider": "github", "external_id": "acme/web"},
            {"provider": "slack", "external_id": "C0WEB"}]},
        {"id": "api", "default_agents": ["triager"]}]))
    t = ("--tenant", tenant)
    done = await asyncio.gather(
        cli("tenants", "secret", tenant, "github", stdin="whsec-9c1b-never-shown\n"),
        cli("agents", "pause", "triager", *t),
        cli("aliases", "set", "@squad", "triager", *t),
        cli("projects", "import", str(projects), *t),
        cli("agents", "show", "nobody", *t),
        cli("projects", "set", "x", "--map", "gitlab:acme/x", *t))
    [secret, pause, alias, imported, unknown, bad_map] = done
    assert secret[:2] == (0, f"tenant {tenant}: github signing secret set\n"), secret
    assert pause[:2] == (0, "agent triager is paused\n"), pause
    assert alias[:2] == (0, "@squad -> triager\n"), alias
    assert imported[:2] == (0, f"2 projects imported into {tenant}\n"), imported
    assert "projects [" in imported[2] and "] 2/2" in imported[2]  # progress on stderr
    assert unknown[0] == 1 and unknown[1] == ""
    assert unknown[2] == (f"switchboard agents show: 404 unknown_agent: tenant {tenant!r} has "
                          "no agent 'nobody'\n")
    assert bad_map[0] == 2 and "is not PROVIDER:ID" in bad_map[2]  # argparse's usage error

    shown, agents, aliases, listed, usage, missing = await asyncio.gather(
        cli("tenants", "show", tenant), cli("agents", "list", *t), cli("aliases", "list", *t),
        cli("projects", "list", *t), cli("usage", "--tenant", tenant),
        cli("tenants", "show", "t-nowhere"))
    assert shown[0] == 0, shown
    body = json.loads(shown[1])
    assert (body["name"], body["default_agents"], body["integrations"]) == (
        "Acme", ["triager"], ["github"])
    assert "whsec-9c1b" not in shown[1]
    header, row = [line.split() for line in agents[1].splitlines()]
    assert header == ["ID", "NAME", "STATUS", "OWNER", "MAX_TURNS", "SESSIONS", "CREATED"]
    assert row[:4] == ["triager", "triager", "paused", "-"] and row[5] == "enqueue"
    assert aliases[1].splitlines() == ["ALIAS   MEMBERS", "@squad  triager"]
    assert [line.split() for line in listed[1].splitlines()] == [
        ["ID", "NAME", "DEFAULT_AGENTS", "MAPPINGS"],
        ["api", "api", "triager", "-"],
        ["web", "Website", "-", "github:acme/web,slack:C0WEB"]]
    assert usage[1].split() == ["TENANT", "AGENT", "RUNS", "THINKS", "INPUT_TOKENS",
                                "OUTPUT_TOKENS", "TOOL_CALLS", "THINK_S"]
    assert missing[:2] == (1, "") and missing[2].startswith(
        "switchboard tenants show: 404 unknown_tenant")
