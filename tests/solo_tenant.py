"""A fresh tenant whose one agent gets every event: the setup the enrichment and replay tests
share (the agent is the tenant's default agent, so any delivery reaches it)."""

from __future__ import annotations

import uuid

import httpx

from tests.admin import store_secret
from tests.conftest import TenantFactory


async def solo_tenant(make_tenant: TenantFactory, http: httpx.AsyncClient,
                      admin: dict[str, str], *secrets: str) -> tuple[str, str]:
    """A new tenant and its only agent, with each of ``secrets`` (e.g. ``clickup_token``)
    holding the fakes' token in its vault."""
    agent = f"ag-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    for name in secrets:
        await store_secret(http, admin, tenant, name)
    return tenant, agent
