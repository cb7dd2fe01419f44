"""``switchboard tenants|agents|aliases|projects|usage`` against the real API: tables for lists,
progress for an import, one-line errors and exit status 1.

Two commands run as their own processes, as a person runs them; the rest run the same entry
point (``cli.main.main``) in a thread of this process, which saves a Python start-up (~0.6 s of
CPU) per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from cli.main import main
from tests.test_cli_events import _cli


async def test_an_admin_sets_up_a_tenant_from_the_terminal(
        http: httpx.AsyncClient, admin: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    t = ("--tenant", tenant)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # nobody logged in: the admin token
    monkeypatch.setenv("SWITCHBOARD_ADMIN_TOKEN", token)

    async def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
        def run() -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            stdin_was = sys.stdin
            sys.stdin = io.StringIO(stdin)
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    try:
                        code = main([*args, "--api", api])
                    except SystemExit as usage:  # argparse refused the command line
                        code = int(usage.code or 0)
            finally:
                sys.stdin = stdin_was
            return code, out.getvalue(), err.getvalue()
        return await asyncio.to_thread(run)

    code, out, err = await _cli(tmp_path, "tenants", "create", tenant, "--name", "Acme",
                                "--default-agent", "triager", "--api", api, admin_token=token)
    assert code == 0 and f"tenant {tenant} created" in out, err
    code, out, err = await cli("agents", "create", "triager", *t, "--role", "sorts new issues")
    assert code == 0 and f"agent triager created in {tenant}" in out, err
    projects = tmp_path / "projects.json"
    projects.write_text(json.dumps([
        {"id": "web", "name": "Website", "mappings": [
            {"provider": "github", "external_id": "acme/web"},
            {"provider": "slack", "external_id": "C0WEB"}]},
        {"id": "api", "default_agents": ["triager"]}]))
    secret = await cli("tenants", "secret", tenant, "github", stdin="whsec-9c1b-never-shown\n")
    assert secret[:2] == (0, f"tenant {tenant}: github signing secret set\n"), secret
    assert await cli("agents", "pause", "triager", *t) == (0, "agent triager is paused\n", "")
    assert await cli("aliases", "set", "@squad", "triager", *t) == (0, "@squad -> triager\n", "")
    imported = await cli("projects", "import", str(projects), *t)
    assert imported[:2] == (0, f"2 projects imported into {tenant}\n"), imported
    assert "projects [" in imported[2] and "] 2/2" in imported[2]  # progress on stderr
    code, _, err = await cli("projects", "set", "x", "--map", "gitlab:acme/x", *t)
    assert code == 2 and "is not PROVIDER:ID" in err  # argparse's usage error

    code, out, err = await cli("tenants", "show", tenant)
    assert code == 0, err
    body = json.loads(out)
    assert (body["name"], body["default_agents"], body["integrations"]) == (
        "Acme", ["triager"], ["github"])
    assert "whsec-9c1b" not in out
    code, out, _ = await cli("agents", "list", *t)
    header, row = [line.split() for line in out.splitlines()]
    assert header == ["ID", "NAME", "STATUS", "OWNER", "MAX_TURNS", "SESSIONS", "CREATED"]
    assert row[:4] == ["triager", "triager", "paused", "-"] and row[5] == "enqueue"
    code, out, _ = await cli("aliases", "list", *t)
    assert out.splitlines() == ["ALIAS   MEMBERS", "@squad  triager"]
    code, out, _ = await cli("projects", "list", *t)
    assert [line.split() for line in out.splitlines()] == [
        ["ID", "NAME", "DEFAULT_AGENTS", "MAPPINGS"],
        ["api", "api", "triager", "-"],
        ["web", "Website", "-", "github:acme/web,slack:C0WEB"]]
    code, out, _ = await cli("usage", "--tenant", tenant)
    assert out.split() == ["TENANT", "AGENT", "RUNS", "THINKS", "INPUT_TOKENS",
                           "OUTPUT_TOKENS", "TOOL_CALLS", "THINK_S"]
    code, out, err = await cli("tenants", "show", "t-nowhere")
    assert (code, out) == (1, "") and err.startswith(
        "switchboard tenants show: 404 unknown_tenant")

    code, out, err = await _cli(tmp_path, "agents", "show", "nobody", *t, "--api", api,
                                admin_token=token)
    assert (code, out) == (1, "")
    assert err == (f"switchboard agents show: 404 unknown_agent: tenant {tenant!r} has no "
                   "agent 'nobody'\n")
