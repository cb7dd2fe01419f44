"""The whole OpenAPI surface fuzzed by schemathesis against the real API, as admin and as agent.

Every answer is checked: no 5xx (a 503 would mean the database is down, and it is not), a
documented status code, a body, content type and headers that validate against the document,
a 405 that names the path's methods in ``Allow``, schema-invalid input refused with a 4xx.

Bounded so that the suite stays fast: deterministic generation (the same cases every run), one
worker, at most 10 cases per operation and phase (coverage, fuzzing, stateful); about 1,800 cases
as admin and 450 as agent, under a minute together on a 2-core machine. Left out, and why:

* ``POST /admin/kill-switch``: ``stop_all`` would stop every other test's agents.
* ``POST /oauth/revoke`` as agent: it revokes the token the run fuzzes with (it is fuzzed in the
  admin run, where it answers 401).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.admin import agent_token
from tests.conftest import TenantFactory

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "unsupported_method")
MAX_EXAMPLES = 10


async def fuzz(api_url: str, token: str, folder: Path, *filters: str) -> dict[str, Any]:
    """Run schemathesis over the API's own document; return its JSON report."""
    report = folder / "report.json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "run", f"{api_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}", "--generation-deterministic",
        "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--checks", ",".join(CHECKS),
        "--no-color", "--report", "json", "--report-json-path", str(report), *filters,
        cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:  # the API runs on this event loop: wait without blocking it
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
    finally:
        if proc.returncode is None:
            proc.kill()
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    summary: dict[str, Any] = json.loads(report.read_text())
    cases = summary["test_cases"]
    print(f"schemathesis: {cases['generated']} cases over {summary['operations']['tested']} "
          f"operations in {summary['running_time']:.1f} s; {cases['with_failures']} failed")
    assert summary["stop_reason"] == "completed" and not summary["errors"], out.decode()[-6000:]
    assert not summary["failures"], out.decode()[-6000:]
    assert summary["operations"]["tested"] == summary["operations"]["selected"]
    return summary


async def test_fuzz_as_admin(api_url: str, admin: dict[str, str], tmp_path: Path) -> None:
    token = admin["Authorization"].removeprefix("Bearer ")
    summary = await fuzz(api_url, token, tmp_path, "--exclude-name", "POST /admin/kill-switch")
    assert summary["test_cases"]["generated"] >= 1000


async def test_fuzz_as_agent(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, tmp_path: Path
) -> None:
    agent = f"fuzz-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    # The run makes hundreds of requests a minute: a quota of its own (configuration, through
    # the admin API) keeps the free plan's 20 a minute from answering it 429 throughout.
    r = await http.put(f"/admin/tenants/{tenant}/quota", headers=admin,
                       json={"requests_per_minute": 1_000_000})
    assert r.status_code == 200, r.text
    token = await agent_token(http, admin, tenant, agent)
    summary = await fuzz(str(http.base_url).rstrip("/"), token, tmp_path,
                         "--include-path-regex", "^/(gateway|context|oauth)/",
                         "--exclude-path", "/oauth/revoke")
    assert summary["test_cases"]["generated"] >= 300
