"""Admin-API steps many tests take: agent tokens, vault secrets, grants, a Slack channel."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.conftest import GATEWAY_TOKEN, Remotes


async def agent_token(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                      agent: str) -> str:
    """A fresh access token for an agent (new client credentials, then the token grant)."""
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials",
                             headers=admin)).json()
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a token."""
    return {"Authorization": f"Bearer {token}"}


async def store_secret(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                       name: str) -> None:
    """Put the fakes' token in the tenant's vault under ``name``."""
    r = await http.put(f"/admin/tenants/{tenant}/secrets/{name}", headers=admin,
                       json={"value": GATEWAY_TOKEN})
    assert r.status_code == 204, r.text


async def grant(http: httpx.AsyncClient, admin: dict[str, str], tenant: str, agent: str,
                intent: str, pattern: str = "*") -> None:
    """Grant an agent an intent on resources matching ``pattern``."""
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/grants", headers=admin,
                        json={"intent": intent, "resource_pattern": pattern})
    assert r.status_code == 201, r.text


async def slack_channel(http: httpx.AsyncClient, admin: dict[str, str], remotes: Remotes,
                        tenant: str, *agents: str, intent: str = "slack_post_message",
                        pattern: str = "*") -> str:
    """A fresh channel on the fake Slack, the bot token in the vault, ``intent`` granted."""
    await store_secret(http, admin, tenant, "slack_bot_token")
    for agent in agents:
        await grant(http, admin, tenant, agent, intent, pattern)
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    remotes.slack.channels.add(channel)
    return channel
