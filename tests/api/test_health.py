"""/healthz and /readyz: the version, and a precise answer naming what is not ready."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from importlib import metadata
from typing import Any

import asyncpg
import httpx

from infra import database
from infra.crypto import Sealer
from infra.directory import tenants
from infra.observability.settings import ObservabilitySettings
from tests import corpus
from tests.harness import api_server, make_settings, migrated_database

VERSION = metadata.version("switchboard")


async def test_the_session_stack_is_alive_and_ready_with_its_version(
        http: httpx.AsyncClient) -> None:
    alive = await http.get("/healthz")
    assert alive.json() == {"status": "alive", "version": VERSION}
    for strict in ("false", "true"):
        ready = await http.get("/readyz", params={"strict": strict})
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert (body["status"], body["version"], body["detail"]) == ("ready", VERSION, None)
        checks = body["checks"]
        assert [checks[k] for k in ("database", "migrations", "temporal", "relay")] == [
            "ok"] * 4
        assert checks["pending_migrations"] == checks["unknown_migrations"] == []
        assert 0 <= checks["relay_lag_seconds"] < checks["relay_lag_limit_seconds"] == 60


async def _ready(http: httpx.AsyncClient, strict: bool = False) -> tuple[int, dict[str, Any]]:
    r = await http.get("/readyz", params={"strict": str(strict).lower()})
    if r.status_code == 503:
        assert r.headers["Retry-After"] == "5"
    body: dict[str, Any] = r.json()
    return r.status_code, body


async def test_degraded_by_temporal_and_relay_lag_not_ready_without_migrations_or_database(
        pg_url: str) -> None:
    name = f"ready_{uuid.uuid4().hex[:8]}"
    url = await migrated_database(pg_url, name)
    settings = make_settings(url, "127.0.0.1:1", "unused")  # no Temporal there
    settings.observability = ObservabilitySettings(ready_max_relay_lag_seconds=0.3)
    pool = await database.create_pool(url, min_size=1, max_size=1)
    try:
        await tenants.create_tenant(pool, "acme", "acme", [])
        await tenants.set_integration_secret(
            pool, Sealer(settings.master_key_bytes()), "acme", "github", corpus.secret("github"))
        async with api_server(settings) as base, httpx.AsyncClient(base_url=base) as http:
            code, body = await _ready(http)
            assert (code, body["status"], body["checks"]["temporal"]) == (
                200, "degraded", "unreachable")
            assert "Temporal is unreachable (webhooks are still stored" in body["detail"]
            raw, headers = corpus.live_request(corpus.entry("github.issues.opened"))
            r = await http.post("/webhooks/github/acme", content=raw, headers=headers)
            assert r.status_code == 202, r.text  # taken while Temporal is away
            async with asyncio.timeout(10):
                while body["checks"]["relay"] != "lagging":
                    await asyncio.sleep(0.1)
                    code, body = await _ready(http)
            assert code == 200 and body["status"] == "degraded"
            assert "the relay lags: the oldest delivery waiting to start has waited" in body[
                "detail"] and "(limit 0.3 s)" in body["detail"]
            code, body = await _ready(http, strict=True)
            assert code == 503 and body["error"] == "not_ready"
            assert "Temporal is unreachable" in body["detail"] and "relay lags" in body["detail"]

            newest = max(await pool.fetch("SELECT version FROM schema_migrations"),
                         key=lambda r: r["version"])["version"]
            await pool.execute("DELETE FROM schema_migrations WHERE version = $1", newest)
            await pool.execute("INSERT INTO schema_migrations (version) VALUES ('9999_future')")
            code, body = await _ready(http)
            assert code == 503, body
            assert body["checks"]["migrations"] == "pending"
            assert body["checks"]["pending_migrations"] == [newest]
            assert body["checks"]["unknown_migrations"] == ["9999_future"]
            assert f"1 migrations are not applied: {newest} (run switchboard migrate)" in body[
                "detail"]
            assert "migrations this build does not ship: 9999_future" in body["detail"]
            assert "Temporal" not in body["detail"]  # only what makes it unready, unless strict

            # The database goes away: not ready, and /metrics still has the process's counters.
            await _connections(pg_url, name, allowed=False)
            code, body = await _ready(http)
            assert (code, body["detail"], body["checks"]["database"]) == (
                503, "the database is unreachable", "unreachable")
            scraped = await http.get("/metrics")
            assert scraped.status_code == 200
            assert "switchboard_database_up 0.0" in scraped.text
            assert 'switchboard_webhooks_received_total{provider="github",status="202"}' in (
                scraped.text)
            assert "switchboard_inbox_backlog" not in scraped.text
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await _connections(pg_url, name, allowed=True)
        with contextlib.suppress(Exception):
            await pool.close()


async def _connections(server_url: str, name: str, *, allowed: bool) -> None:
    """Let connections to database ``name`` in again, or refuse them and end those open."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                               " WHERE datname = $1", name)
    finally:
        await conn.close()
