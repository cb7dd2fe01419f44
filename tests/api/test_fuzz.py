"""The whole OpenAPI surface fuzzed by schemathesis against the real API: as the bootstrap
super-admin, as an agent and as users of the owner and viewer roles.

Every answer is checked: no 5xx (a 503 would mean the database is down, and it is not), a
documented status code, a body, content type and headers that validate against the document,
a 405 that names the path's methods in ``Allow``, schema-invalid input refused with a 4xx.

Bounded so that the suite stays fast: deterministic generation (the same cases every run), one
worker, at most MAX_EXAMPLES cases per operation and phase (coverage, fuzzing, stateful) as admin
and as agent. Users are fuzzed as owner (allowed every tenant operation) and viewer (refused
most): the handlers are the same for every role, and admin and operator sit between the two
(``api/authz.py``); all four are checked by ``test_no_role_reaches_...`` below. Each role's run
is pinned to its own tenant (and its agent) so that it reaches the handlers instead of the 404
of an unknown tenant, fuzzing and stateful phases only, at most ROLE_EXAMPLES cases per
operation. (Run once for each of the four roles with the coverage phase too, it found no
failure.) Left out, and why:

* ``POST /admin/kill-switch``: ``stop_all`` would stop every other test's agents.
* ``POST /oauth/revoke`` as agent: it revokes the token the run fuzzes with (it is fuzzed in the
  admin run, where it answers 401).
* ``POST /auth/logout`` as a user: fuzzed in the admin run; a user's run keeps its session.

What no role may reach is checked apart, deterministically (``test_no_role_reaches_...``):
every operation of the document, called with each role's token against a tenant the user is
not a member of, and the super-admin's global routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.admin import agent_token, bearer
from tests.conftest import TenantFactory

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "unsupported_method")
MAX_EXAMPLES = 6
ROLE_EXAMPLES = 4
ROLE_PHASES = "fuzzing,stateful"
ROLES = ("owner", "admin", "operator", "viewer")
FUZZED_ROLES = ("owner", "viewer")  # the role allowed everything and the one refused most
PASSWORD = "correct horse battery"


async def fuzz(api_url: str, token: str, folder: Path, *filters: str,
               max_examples: int = MAX_EXAMPLES,
               path_values: dict[str, str] | None = None) -> dict[str, Any]:
    """Run schemathesis over the API's own document; return its JSON report.

    ``path_values`` pins path parameters (by name) to one value in every generated case.
    """
    report = folder / "report.json"
    if path_values:
        pinned = "".join(f'"path.{k}" = {json.dumps(v)}\n' for k, v in path_values.items())
        (folder / "schemathesis.toml").write_text(f"[parameters]\n{pinned}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "run", f"{api_url}/openapi.json",
        "--header", f"Authorization: Bearer {token}", "--generation-deterministic",
        "--max-examples", str(max_examples), "--workers", "1", "--checks", ",".join(CHECKS),
        # a path parameter that takes slashes ({run_id:path}) has most generated values filtered
        # out; what is generated is still sent and checked
        "--suppress-health-check", "filter_too_much",
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


async def _members(http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
                   roles: tuple[str, ...] = ROLES) -> tuple[str, str, dict[str, str]]:
    """A fresh tenant with an agent, a big API quota and a user per role: (tenant, agent,
    access token by role)."""
    agent = f"fuzz-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,))
    # Hundreds of requests a minute: a quota of its own (configuration, through the admin API)
    # keeps the free plan's 20 a minute from answering the run 429 throughout.
    r = await http.put(f"/admin/tenants/{tenant}/quota", headers=admin,
                       json={"requests_per_minute": 1_000_000})
    assert r.status_code == 200, r.text
    tokens = {}
    for role in roles:
        email = f"fuzz-{role}-{uuid.uuid4().hex[:8]}@example.com"
        r = await http.post("/admin/users", headers=admin,
                            json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                           json={"role": role})
        assert r.status_code == 200, r.text
        r = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[role] = r.json()["access_token"]
    return tenant, agent, tokens


@pytest.mark.parametrize("role", FUZZED_ROLES)
async def test_fuzz_as_user(
    role: str, http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    tmp_path: Path
) -> None:
    tenant, agent, tokens = await _members(http, admin, make_tenant, (role,))
    summary = await fuzz(str(http.base_url).rstrip("/"), tokens[role], tmp_path,
                         "--exclude-path", "/auth/logout", "--phases", ROLE_PHASES,
                         max_examples=ROLE_EXAMPLES,
                         path_values={"tenant_id": tenant, "agent_id": agent})
    assert summary["test_cases"]["generated"] >= 150


# Answer anyone, or answer users about themselves: every other operation refuses a user token.
PUBLIC = frozenset({("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz"),
                    ("GET", "/.well-known/jwks.json"), ("GET", "/auth/me")})
SUPER_ADMIN_ON_A_TENANT = frozenset({("PUT", "/admin/tenants/{tenant_id}/quota")})


def _operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (method, path template) of an OpenAPI document."""
    return [(method.upper(), path) for path, item in doc["paths"].items()
            for method in item if method in ("get", "put", "post", "patch", "delete")]


async def test_no_role_reaches_another_tenant_or_the_super_admins_routes(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory
) -> None:
    tenant, _, tokens = await _members(http, admin, make_tenant)
    r = await http.post("/admin/users", headers=admin,
                        json={"email": f"fuzz-none-{uuid.uuid4().hex[:8]}@example.com",
                              "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await http.post("/auth/login", json={"email": r.json()["email"], "password": PASSWORD})
    assert r.status_code == 200, r.text
    tokens["no role"] = r.json()["access_token"]  # a user who is a member of nothing
    other = await make_tenant(agents=("coder",))
    r = await http.post("/admin/users", headers=admin,
                        json={"email": f"fuzz-b-{uuid.uuid4().hex[:8]}@example.com"})
    assert r.status_code == 201, r.text
    victim = r.json()["email"]
    r = await http.put(f"/admin/tenants/{other}/members/{victim}", headers=admin,
                       json={"role": "owner"})
    assert r.status_code == 200, r.text
    values = {"tenant_id": other, "tenant": other, "agent_id": "coder", "email": victim,
              "provider": "github", "name": "slack_bot_token"}  # other parameters: x1
    doc = (await http.get("/openapi.json")).json()
    walked = 0
    for role, token in tokens.items():
        for method, template in _operations(doc):
            if (method, template) in PUBLIC:
                continue
            path = re.sub(r"{(\w+)}", lambda m: values.get(m[1], "x1"), template)
            body: dict[str, Any] = {"status": "paused"} if method == "PATCH" else {}
            r = await http.request(method, path, headers=bearer(token),
                                   json=body if method in ("POST", "PUT", "PATCH") else None)
            walked += 1
            what = f"{role}: {method} {path} -> {r.status_code} {r.text[:200]}"
            if template.startswith("/admin/tenants/{tenant_id}"):
                assert r.status_code == 404 and r.json()["error"] == "unknown_tenant", what
            elif template.startswith("/admin"):
                assert r.status_code == 403 and r.json()["error"] == "forbidden", what
            else:
                assert not 200 <= r.status_code < 300 and r.status_code < 500, what
        for method, template in SUPER_ADMIN_ON_A_TENANT:  # on the user's own tenant
            r = await http.request(method, template.replace("{tenant_id}", tenant),
                                   headers=bearer(token), json={"plan": "team"})
            walked += 1
            expected = 404 if role == "no role" else 403
            assert r.status_code == expected, f"{role}: {method} {template} -> {r.text}"
    print(f"{walked} refusals checked over {len(tokens)} users")
    r = await http.get(f"/admin/tenants/{tenant}/quota", headers=admin)
    assert r.json()["requests_per_minute"] == 1_000_000  # no role changed its quota
