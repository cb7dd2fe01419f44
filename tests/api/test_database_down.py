"""With the database gone, webhooks get 503 (retry later), never a 500, and nothing is claimed;
the process stays alive (/healthz 200) but says it is not ready (/readyz 503)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from infra.crypto import Sealer
from infra.database import create_pool
from infra.directory import tenants
from tests import corpus
from tests.harness import api_server, make_settings, start_postgres


async def test_webhook_while_database_is_down_is_503_with_retry_after(tmp_path: Path) -> None:
    pg, url = await start_postgres(tmp_path, "down_test")
    settings = make_settings(url, "127.0.0.1:1", "unused")
    pool = await create_pool(url, min_size=1, max_size=1)
    for tenant in ("warm", "cold"):
        await tenants.create_tenant(pool, tenant, tenant, [])
        await tenants.set_integration_secret(
            pool, Sealer(settings.master_key_bytes()), tenant, "github", corpus.secret("github"))
    await pool.close()
    e = corpus.entry("github.issues.opened")
    raw, headers = corpus.live_request(e)
    try:
        async with api_server(settings, run_relay=False) as base, \
                httpx.AsyncClient(base_url=base) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "ok"
            # Temporal is down here: reported, but webhooks are still taken into the inbox.
            assert ready.json()["checks"]["temporal"] == "unreachable"
            warm = await http.post("/webhooks/github/warm", content=raw, headers=headers)
            assert warm.status_code == 202  # its signing secret is now cached
            await asyncio.to_thread(pg.stop)
            again = {**headers, "X-GitHub-Delivery": "another-delivery"}
            for tenant in ("warm", "cold"):  # inbox write fails / secret lookup fails
                r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=again)
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                assert "retry" in r.json()["detail"]
            alive = await http.get("/healthz")
            assert (alive.status_code, alive.json()["status"]) == (200, "alive")
            ready = await http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.headers["Retry-After"] == "5"
            body = ready.json()
            assert (body["error"], body["checks"]["database"]) == ("not_ready", "unreachable")
            assert "database" in body["detail"]
    finally:
        pg.stop()
