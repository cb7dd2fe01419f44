"""What the tool gateway itself costs per call, without the remote call, and the catalog over HTTP.

``Gateway.execute`` runs on a real database with a bench-only intent whose executor returns at
once, so every figure is the gateway's own work: grant check, idempotency claim, vault read and
AES-GCM decrypt (the embedded secret store), execute, scrub, finish, audit. ``GET /gateway/catalog``
is timed against the real API in its own process, with an OAuth2 bearer token.
``POST /gateway/execute`` cannot run the no-op intent (the API's registry is fixed), so it is not
timed here.

Figures only; nothing here is a target or an assertion.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from pydantic import BaseModel, SecretStr

from infra import database
from infra.gateway import store as store
from infra.gateway.base import ExecutionContext, Intent
from infra.gateway.registry import builtin_intents
from infra.gateway.service import REDACTED, Gateway
from infra.settings import DatabaseSettings, Settings
from infra.vault import SecretStore, build_secret_store
from tests.bench.fixtures import create_tenant, server_env
from tests.bench.serve import served
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port
from workflows.contracts import GatewayCall, ToolCall

CALLS = 1000
WARMUP = 50
HTTP_REQUESTS = 1000
NOOP = "bench_noop"
NOOP_SECRET = "bench_noop_token"
# Five real intents for the catalog (the API's registry is fixed; each gets one grant).
CATALOG_GRANTS = ("github_comment", "github_create_issue", "slack_post_message", "slack_reply",
                  "reply")


class NoopArgs(BaseModel):
    """The bench intent's arguments: a resource, like a real intent's repository or channel."""

    target: str
    text: str = ""


async def _noop(args: NoopArgs, ctx: ExecutionContext) -> dict[str, Any]:
    """Return at once; the result quotes the credential so the scrub has work to do."""
    return {"ok": True, "target": args.target, "echo": f"authorised with {ctx.credential}",
            "items": [{"n": i, "text": args.text} for i in range(3)]}


NOOP_INTENT: Intent[NoopArgs] = Intent(
    name=NOOP, description="Benchmark only: does nothing, at once.", args=NoopArgs,
    resource=lambda a: a.target, secret=NOOP_SECRET, execute=_noop)


def _line(name: str, values: list[float]) -> str:
    return (f"  {name:<46} p50 {ms(percentile(values, 50))}  p90 {ms(percentile(values, 90))}"
            f"  p99 {ms(percentile(values, 99))}  max {ms(max(values))}")


async def _timed(n: int, make: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Seconds each of ``n`` sequential awaits took."""
    spent: list[float] = []
    for i in range(n):
        started = time.perf_counter()
        await make(i)
        spent.append(time.perf_counter() - started)
    return spent


async def bench_gateway(db_url: str) -> None:
    """Print the gateway's per-call overhead and the catalog's HTTP latency."""
    heading("Gateway: overhead per call without the remote call; catalog over HTTP")
    senv = server_env(db_url)
    settings = Settings(dev_mode=True, admin_token=SecretStr(senv["SWITCHBOARD_ADMIN_TOKEN"]),
                        master_key=SecretStr(senv["SWITCHBOARD_MASTER_KEY"]),
                        database=DatabaseSettings(url=db_url))
    agent_id = f"bench-{uuid.uuid4().hex[:8]}"
    pool = await database.create_pool(db_url)
    try:
        async with served("app", free_port(), senv) as api:
            admin = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
            tenant = await create_tenant(api.url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                                         agents=[agent_id])
            secrets = build_secret_store(settings, pool)
            await secrets.put(tenant, NOOP_SECRET, f"bench-{uuid.uuid4().hex}")
            await store.add_grant(pool, tenant, agent_id, NOOP, f"{tenant}/*")
            gateway = Gateway(pool, secrets, settings.gateway,
                              {**builtin_intents(), NOOP: NOOP_INTENT})
            await _execute(gateway, pool, secrets, tenant, agent_id)
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                for intent in CATALOG_GRANTS:
                    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent_id}/grants",
                                        headers=admin,
                                        json={"intent": intent, "resource_pattern": "*"})
                    r.raise_for_status()
                auth = await _agent_token(http, admin, tenant, agent_id)
                await _catalog(http, auth, gateway, tenant, agent_id)
    finally:
        await pool.close()


def _call(tenant: str, agent_id: str, key: str) -> GatewayCall:
    return GatewayCall(tenant_id=tenant, agent_id=agent_id, idempotency_key=key,
                       call=ToolCall(id=key, name=NOOP, target="gateway", arguments={
                           "target": f"{tenant}/frontend", "text": "benchmark"}))


async def _execute(gateway: Gateway, pool: asyncpg.Pool, secrets: SecretStore, tenant: str,
                   agent_id: str) -> None:
    run = uuid.uuid4().hex[:8]
    calls = [_call(tenant, agent_id, f"bench/{run}/{i}") for i in range(WARMUP + CALLS)]

    async def execute(i: int) -> None:
        outcome = await gateway.execute(calls[i], source="bench")
        if outcome.error is not None or outcome.result is None:
            raise RuntimeError(f"the no-op call failed: {outcome}")
        if REDACTED not in outcome.result["echo"]:
            raise RuntimeError("the gateway did not scrub the credential from the result")

    print(f"  Gateway.execute in this process on a real PostgreSQL (embedded vault); a no-op"
          f" intent; {CALLS} sequential calls after {WARMUP} warm-up", flush=True)
    await _timed(WARMUP, execute)
    fresh = await _timed(CALLS, lambda i: execute(WARMUP + i))
    replayed = await _timed(CALLS, lambda i: execute(WARMUP + i))  # each key a second time
    print(_line("execute, fresh idempotency key", fresh))
    print(_line("execute, replayed key (stored result)", replayed))

    # The same steps alone, to see where a fresh call's time goes (not additive to the above:
    # each runs on its own, with the pool's connection already warm).
    resource = f"{tenant}/frontend"
    extra = [f"bench/{run}/split/{i}" for i in range(CALLS)]
    print("  its steps timed alone (same store calls, one after another):")
    steps: list[tuple[str, Callable[[int], Awaitable[Any]]]] = [
        ("grant check (grant_patterns)",
         lambda i: store.grant_patterns(pool, tenant, agent_id)),
        ("idempotency claim (claim_call insert)",
         lambda i: store.claim_call(pool, tenant, agent_id, extra[i], NOOP, resource)),
        ("vault read + AES-GCM decrypt", lambda i: secrets.get(tenant, NOOP_SECRET)),
        ("finish (finish_call update)",
         lambda i: store.finish_call(pool, tenant, agent_id, extra[i], result={"ok": True},
                                     error=None)),
        ("audit insert", lambda i: store.audit(
            pool, tenant_id=tenant, agent_id=agent_id, intent=NOOP, resource=resource,
            decision="allowed", outcome="ok", detail=None, duration_ms=0,
            idempotency_key=extra[i], source="bench")),
    ]
    for name, step in steps:
        print(_line(f"  {name}", await _timed(CALLS, step)))
    print(_line("  floor: one SELECT 1 round trip",
                await _timed(CALLS, lambda i: pool.fetchval("SELECT 1"))))


async def _agent_token(http: httpx.AsyncClient, admin: dict[str, str], tenant: str,
                       agent_id: str) -> dict[str, str]:
    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent_id}/credentials", headers=admin)
    r.raise_for_status()
    creds = r.json()
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    r = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _catalog(http: httpx.AsyncClient, auth: dict[str, str], gateway: Gateway,
                   tenant: str, agent_id: str) -> None:
    tools = await gateway.catalog(tenant, agent_id)
    print(f"\n  GET /gateway/catalog: the real API in its own process, bearer token, an agent with"
          f" {len(CATALOG_GRANTS)} granted intents (in this process {len(tools)}: the bench"
          f" intent too); {HTTP_REQUESTS} sequential requests after {WARMUP} warm-up", flush=True)

    async def get(path: str, headers: dict[str, str], want: int | None = None) -> None:
        r = await http.get(path, headers=headers)
        if r.status_code != 200 or (want is not None and len(r.json()) != want):
            raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")

    await _timed(WARMUP, lambda i: get("/gateway/catalog", auth, len(CATALOG_GRANTS)))
    over_http = await _timed(HTTP_REQUESTS,
                             lambda i: get("/gateway/catalog", auth, len(CATALOG_GRANTS)))
    floor = await _timed(HTTP_REQUESTS, lambda i: get("/", {}))
    readyz = await _timed(HTTP_REQUESTS, lambda i: get("/readyz", {}))
    in_process = await _timed(CALLS, lambda i: gateway.catalog(tenant, agent_id))
    print(_line("GET /gateway/catalog over HTTP", over_http))
    print(_line("  floor: GET / (no database) over HTTP", floor))
    print(_line("  floor: GET /readyz (SELECT 1, Temporal health) over HTTP", readyz))
    print(_line("  Gateway.catalog in this process (no HTTP)", in_process))
