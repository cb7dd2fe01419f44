"""What the benchmarks set up: server settings, a tenant, the signed corpus deliveries."""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from tests import corpus


def server_env(db_url: str) -> dict[str, str]:
    """The environment a server process reads its settings from (fresh random secrets)."""
    return {
        "DATABASE_URL": db_url,
        "SWITCHBOARD_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "SWITCHBOARD_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "SWITCHBOARD_DEV_MODE": "true",
    }


async def set_debounce(base_url: str, admin_token: str, tenant: str, agents: Sequence[str],
                       debounce_ms: int) -> int:
    """Set ``session_debounce_ms`` on ``agents`` through the real admin API; the first agent's
    value before the change."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as http:
        r = await http.get(f"/admin/tenants/{tenant}/agents")
        r.raise_for_status()
        before = next(int(a["session_debounce_ms"]) for a in r.json() if a["id"] == agents[0])
        for agent_id in agents:
            r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent_id}",
                                 json={"session_debounce_ms": debounce_ms})
            r.raise_for_status()
    return before


async def create_tenant(
    base_url: str, admin_token: str, *, agents: Sequence[str] = (), default: bool = False,
    tenant: str | None = None,
) -> str:
    """A tenant with the corpus' GitHub secret and ``agents``, made through the real admin API."""
    tenant = tenant or f"bench-{uuid.uuid4().hex[:10]}"
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as http:
        r = await http.post("/admin/tenants", json={
            "id": tenant, "name": tenant, "default_agents": list(agents) if default else []})
        r.raise_for_status()
        r = await http.put(f"/admin/tenants/{tenant}/integrations/github",
                           json={"secret": corpus.secret("github")})
        r.raise_for_status()
        for agent_id in agents:
            r = await http.post(f"/admin/tenants/{tenant}/agents",
                                json={"id": agent_id, "name": agent_id})
            r.raise_for_status()
    return tenant


def signed_issue_opened() -> tuple[dict[str, str], bytes]:
    """The corpus issues.opened headers, signed once with the test secret, and its 13.5 KB body."""
    entry = corpus.entry("github.issues.opened")
    body = corpus.body(entry)
    headers = dict(entry["headers"]) | corpus.github_sign(body, corpus.secret("github"))
    return headers, body


class NewIssues:
    """The corpus issues.opened delivery, each time about a new issue, signed as GitHub signs it.

    Every call gives the next ``issue.number`` (and the issue's URLs), so every event is its own
    thread and its own session, as real traffic spread over many issues is; the same body every
    time would make one thread whose events one session takes one turn at a time. The body is
    signed per delivery (GitHub signs the body alone); callers that time the client call this
    before their clock starts.
    """

    def __init__(self) -> None:
        """Read the corpus delivery once."""
        entry = corpus.entry("github.issues.opened")
        self._template: dict[str, Any] = json.loads(corpus.body(entry))
        self._headers = {k: v for k, v in entry["headers"].items()
                         if not k.lower().startswith("x-hub-signature")}
        self._secret = corpus.secret("github")
        self._numbers = itertools.count(self._template["issue"]["number"] + 1)

    def signed(self, delivery: str) -> tuple[dict[str, str], bytes]:
        """Headers (signature and ``X-GitHub-Delivery: delivery``) and body of a new issue."""
        number = next(self._numbers)
        issue = dict(self._template["issue"])
        old = f"/issues/{issue['number']}"
        issue.update(number=number, url=issue["url"].replace(old, f"/issues/{number}"),
                     html_url=issue["html_url"].replace(old, f"/issues/{number}"))
        body = (json.dumps(self._template | {"issue": issue}, indent=2) + "\n").encode()
        headers = (self._headers | corpus.github_sign(body, self._secret)
                   | {"X-GitHub-Delivery": delivery})
        return headers, body
