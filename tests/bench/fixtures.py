"""What both benchmarks set up: server settings, a tenant, the signed corpus delivery."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Sequence

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
