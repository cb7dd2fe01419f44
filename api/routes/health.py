"""Liveness (/healthz), readiness (/readyz) and a landing page that points at the docs.

Liveness says only that the process serves requests: restart it if this fails. Readiness says
whether it can take work, and reports everything it depends on:

* ``database``: reachable (every webhook is written to the inbox first) -- required;
* ``migrations``: every migration this build ships is applied, and none it does not know -- a
  process on a schema it was not built for is not ready (required);
* ``temporal``: the frontend answers its health check;
* ``relay``: the oldest delivery not yet started in Temporal has waited less than
  ``SWITCHBOARD_READY_MAX_RELAY_LAG_SECONDS`` (default 60).

Temporal and the relay do not make the API unready by default: while Temporal is away webhooks
are still taken into the inbox and started when it is back, so a load balancer must keep sending
them. Then the answer is 200 with ``"status": "degraded"`` and the detail. ``/readyz?strict=true``
requires all four (for monitoring and for a deployment that waits for the whole platform).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from importlib import metadata, resources
from typing import Literal

import asyncpg
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import PoolDep, SettingsDep, TemporalDep
from infra.temporal import LazyClient

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5


def _version() -> str:
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


VERSION = _version()


class Alive(BaseModel):
    """The process is serving requests."""

    status: Literal["alive"] = "alive"
    version: str = VERSION


class Checks(BaseModel):
    """What this process depends on, and whether it answered."""

    database: Literal["ok", "unreachable"]
    migrations: Literal["ok", "pending", "unknown_applied", "unchecked"] = Field(
        description="pending: this build's migrations not all applied; unknown_applied: the "
                    "database has migrations this build does not ship; unchecked: no database")
    temporal: Literal["ok", "unreachable"]
    relay: Literal["ok", "lagging", "unchecked"]
    relay_lag_seconds: float | None = Field(
        description="How long the oldest delivery not yet started in Temporal has waited")
    relay_lag_limit_seconds: float
    pending_migrations: list[str] = Field(default_factory=list)
    unknown_migrations: list[str] = Field(default_factory=list)


class Ready(BaseModel):
    """Ready to take work (degraded: webhooks are taken, but Temporal or the relay lags)."""

    status: Literal["ready", "degraded"] = "ready"
    version: str = VERSION
    detail: str | None = None
    checks: Checks


class NotReady(BaseModel):
    """Not ready: what failed, precisely (503, with Retry-After)."""

    error: Literal["not_ready"] = "not_ready"
    detail: str
    version: str = VERSION
    checks: Checks


class Landing(BaseModel):
    """Where to go next."""

    name: str
    docs: str
    webhooks: str


@router.get("/", summary="What this is")
async def landing() -> Landing:
    """Links to the docs and the webhook URL shape."""
    return Landing(name="Switchboard", docs="/docs", webhooks="/webhooks/{provider}/{tenant}")


@router.get("/healthz", summary="Liveness: the process serves requests")
async def healthz() -> Alive:
    """200 while the process serves requests, whatever its dependencies do."""
    return Alive()


def shipped_migrations() -> set[str]:
    """The migration versions this build ships (``infra/migrations/NNNN_name.sql``)."""
    folder = resources.files("infra") / "migrations"
    return {p.name.removesuffix(".sql") for p in folder.iterdir()
            if p.name.endswith(".sql") and not p.name.endswith(".down.sql")}


_STATE = """SELECT (SELECT COALESCE(extract(epoch FROM now() - min(received_at)), 0)::float8
                    FROM inbox WHERE relayed_at IS NULL) AS lag,
                   ARRAY(SELECT version FROM schema_migrations) AS applied"""


async def _database(pool: asyncpg.Pool) -> tuple[float, set[str]] | None:
    """The relay lag and the applied migrations, or None if the database does not answer."""
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            row = await pool.fetchrow(_STATE)
    except Exception as err:  # any failure means: not reachable now
        log.info("readiness: database unreachable: %s", type(err).__name__)
        return None
    assert row is not None
    return float(row["lag"]), set(row["applied"])


async def _temporal(temporal: LazyClient) -> Literal["ok", "unreachable"]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            client = await temporal.get()
            healthy = await client.service_client.check_health(
                timeout=timedelta(seconds=CHECK_SECONDS))
    except Exception as err:  # any failure means: not reachable now
        log.info("readiness: Temporal unreachable: %s", type(err).__name__)
        temporal.forget()
        return "unreachable"
    return "ok" if healthy else "unreachable"


def _checks(state: tuple[float, set[str]] | None, temporal: Literal["ok", "unreachable"],
            limit: float) -> tuple[Checks, list[str], list[str]]:
    """The checks, what makes the process unready, and what only degrades it."""
    failed: list[str] = []
    degraded: list[str] = []
    if state is None:
        checks = Checks(database="unreachable", migrations="unchecked", temporal=temporal,
                        relay="unchecked", relay_lag_seconds=None, relay_lag_limit_seconds=limit)
        failed.append("the database is unreachable")
    else:
        lag, applied = state
        shipped = shipped_migrations()
        pending, unknown = sorted(shipped - applied), sorted(applied - shipped)
        checks = Checks(
            database="ok", temporal=temporal,
            migrations="pending" if pending else "unknown_applied" if unknown else "ok",
            relay="lagging" if lag > limit else "ok", relay_lag_seconds=round(lag, 3),
            relay_lag_limit_seconds=limit, pending_migrations=pending,
            unknown_migrations=unknown)
        if pending:
            failed.append(f"{len(pending)} migrations are not applied: {', '.join(pending)} "
                          "(run switchboard migrate)")
        if unknown:
            failed.append(f"the database has migrations this build does not ship: "
                          f"{', '.join(unknown)} (a newer version migrated it)")
        if lag > limit:
            degraded.append(f"the relay lags: the oldest delivery waiting to start has waited "
                            f"{lag:.1f} s (limit {limit:g} s)")
    if temporal != "ok":
        degraded.insert(0, "Temporal is unreachable (webhooks are still stored in the inbox)")
    return checks, failed, degraded


@router.get("/readyz", summary="Readiness: database, migrations, Temporal, relay lag",
            responses={503: {"model": NotReady, "description": "not ready; retry later"}})
async def readyz(pool: PoolDep, temporal_client: TemporalDep, settings: SettingsDep,
                 response: Response, strict: bool = False) -> Ready | NotReady:
    """200 ready (or degraded: Temporal or the relay lags); 503 with Retry-After naming what
    failed: the database, the migrations, or with ``strict=true`` any of the four."""
    state, temporal = await asyncio.gather(_database(pool), _temporal(temporal_client))
    limit = settings.observability.ready_max_relay_lag_seconds
    checks, failed, degraded = _checks(state, temporal, limit)
    if strict:
        failed += degraded
    if not failed:
        return Ready(status="degraded" if degraded else "ready",
                     detail="; ".join(degraded) or None, checks=checks)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return NotReady(detail="; ".join(failed), checks=checks)
