"""Sockets obey the token: how long after a revocation, a pause or an expiry the sockets close.

Two API processes (``python -m tests.bench.serve --kind app``) on one database; each trial opens
one socket of a fresh token on each, then revokes the token (``/oauth/revoke``), revokes the
agent's tokens (``revoke-tokens``) or pauses the agent, and times each socket's close from just
before the request. Expiry is timed from the token's ``exp`` (tokens of a 3 s lifetime issued
with the API's own key, sockets on both processes). Figures only; nothing here is asserted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from infra import database
from infra.auth.tokens import TokenService
from infra.crypto import Sealer
from tests.bench.agent_sockets import closed_at, connect
from tests.bench.fixtures import create_tenant, server_env
from tests.bench.serve import served
from tests.bench.stack import temporal
from tests.bench.stats import heading, ms, percentile
from tests.harness import free_port

CLOSE_WITHIN = 30.0
EXPIRING_TTL = 3


def _ws_url(api: str) -> str:
    return api.replace("http://", "ws://") + "/agents/ws"


async def _token(http: httpx.AsyncClient, admin: dict[str, str], tenant: str, agent: str
                 ) -> str:
    creds = (await http.post(f"/admin/tenants/{tenant}/agents/{agent}/credentials",
                             headers=admin)).json()
    r = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"]})
    r.raise_for_status()
    return str(r.json()["access_token"])


def _line(name: str, values: list[float], codes: set[int | None]) -> None:
    finite = [v for v in values if math.isfinite(v)]
    never = len(values) - len(finite)
    print(f"  {name:<34} p50 {ms(percentile(finite, 50))}  p99 {ms(percentile(finite, 99))}"
          f"  max {ms(max(finite, default=math.nan))}  n={len(values)}"
          f"{f'  ({never} never)' if never else ''}  codes {sorted(codes, key=str)}", flush=True)


Trigger = Callable[[str, str, str], Awaitable[None]]


async def _trials(apis: list[str], http: httpx.AsyncClient, admin: dict[str, str],
                  tenant: str, agent: str, trigger: Trigger, trials: int) -> None:
    latencies: list[float] = []
    codes: set[int | None] = set()
    for _ in range(trials):
        token = await _token(http, admin, tenant, agent)
        sockets = [await connect(_ws_url(api), token) for api in apis]
        started = time.time()
        await trigger(tenant, agent, token)
        closes = (closed_at(ws, CLOSE_WITHIN, time.time) for ws in sockets)
        for at, code in await asyncio.gather(*closes):
            latencies.append(at - started)
            codes.add(code)
        await http.patch(f"/admin/tenants/{tenant}/agents/{agent}", headers=admin,
                         json={"status": "active"})
    _line(getattr(trigger, "__name__", "trigger"), latencies, codes)


async def _expiry(apis: list[str], tokens: TokenService, tenant: str, agent: str,
                  trials: int) -> None:
    issued = [(await tokens.issue(tenant, agent, ["agent"]))[0] for _ in range(trials)]
    expiries = [time.time() // 1 + EXPIRING_TTL] * trials  # exp: the issuing second + TTL
    sockets = [await connect(_ws_url(apis[i % 2]), token) for i, token in enumerate(issued)]
    closed = await asyncio.gather(*(closed_at(ws, CLOSE_WITHIN, time.time) for ws in sockets))
    _line(f"token expiry (from exp, ttl {EXPIRING_TTL} s)",
          [at - exp for (at, _), exp in zip(closed, expiries, strict=True)],
          {code for _, code in closed})


@contextlib.asynccontextmanager
async def _two_apis(env: dict[str, str], folder: Path) -> AsyncIterator[list[str]]:
    async with served("app", free_port(), env, log=folder / "api-1.log") as one, \
            served("app", free_port(), env, log=folder / "api-2.log") as two:
        yield [one.url, two.url]


async def bench_sockets(db_url: str, *, trials: int = 20) -> None:
    """Print socket close latency p50/p99 for each way a token is cut off (figures only)."""
    heading("Sockets obey the token: close latency, 2 API processes")
    env = await temporal()
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": f"bench-{uuid.uuid4().hex[:8]}"}
    admin = {"Authorization": f"Bearer {senv['SWITCHBOARD_ADMIN_TOKEN']}"}
    pool: asyncpg.Pool = await database.create_pool(db_url)
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-sockets-") as folder:
            async with _two_apis(senv, Path(folder)) as apis, \
                    httpx.AsyncClient(base_url=apis[0], timeout=30) as http:
                agent = f"bench-{uuid.uuid4().hex[:8]}"
                tenant = await create_tenant(apis[0], senv["SWITCHBOARD_ADMIN_TOKEN"],
                                             agents=[agent])
                r = await http.put(f"/admin/tenants/{tenant}/quota", headers=admin,
                                   json={"requests_per_minute": 1_000_000})
                r.raise_for_status()

                async def oauth_revoke(tenant: str, agent: str, token: str) -> None:
                    r = await http.post("/oauth/revoke",
                                        headers={"Authorization": f"Bearer {token}"})
                    r.raise_for_status()

                async def revoke_tokens(tenant: str, agent: str, token: str) -> None:
                    r = await http.post(f"/admin/tenants/{tenant}/agents/{agent}/revoke-tokens",
                                        headers=admin)
                    r.raise_for_status()

                async def pause(tenant: str, agent: str, token: str) -> None:
                    r = await http.patch(f"/admin/tenants/{tenant}/agents/{agent}",
                                         headers=admin, json={"status": "paused"})
                    r.raise_for_status()

                print(f"  {trials} trials each, one socket per process per trial, timed from"
                      " just before the request to the close frame", flush=True)
                for trigger in (oauth_revoke, revoke_tokens, pause):
                    await _trials(apis, http, admin, tenant, agent, trigger, trials)
                sealer = Sealer(base64.b64decode(senv["SWITCHBOARD_MASTER_KEY"]))
                await _expiry(apis, TokenService(pool, sealer, EXPIRING_TTL), tenant, agent,
                              trials)
    finally:
        await pool.close()
        await env.shutdown()
