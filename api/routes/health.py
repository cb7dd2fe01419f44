"""Liveness (/healthz), readiness (/readyz) and a landing page that points at the docs.

Liveness says only that the process serves requests: restart it if this fails. Readiness says
whether it can do its work: the database is reachable (every webhook is written to the inbox
first). Temporal is reported too but does not make the API unready: webhooks are still taken
into the inbox while it is away, and the relay starts them when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Literal

import asyncpg
from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import PoolDep, TemporalDep
from infra.temporal import LazyClient

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5

Check = Literal["ok", "unreachable"]


class Alive(BaseModel):
    """The process is serving requests."""

    status: Literal["alive"] = "alive"


class Checks(BaseModel):
    """What this process depends on, and whether it answered."""

    database: Check
    temporal: Check


class Ready(BaseModel):
    """Ready to take work."""

    status: Literal["ready"] = "ready"
    checks: Checks


class NotReady(BaseModel):
    """Not ready: which dependency is missing (503, with Retry-After)."""

    error: Literal["not_ready"] = "not_ready"
    detail: str
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


async def _database(pool: asyncpg.Pool) -> Check:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await pool.fetchval("SELECT 1")
    except Exception as err:  # any failure means: not reachable now
        log.info("readiness: database unreachable: %s", type(err).__name__)
        return "unreachable"
    return "ok"


async def _temporal(temporal: LazyClient) -> Check:
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


@router.get("/readyz", summary="Readiness: the database is reachable",
            responses={503: {"model": NotReady, "description": "not ready; retry later"}})
async def readyz(pool: PoolDep, temporal_client: TemporalDep, response: Response
                 ) -> Ready | NotReady:
    """200 when the database answers; 503 with Retry-After naming what does not."""
    database, temporal = await asyncio.gather(_database(pool), _temporal(temporal_client))
    checks = Checks(database=database, temporal=temporal)
    if database == "ok":
        return Ready(checks=checks)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return NotReady(detail="the database is unreachable", checks=checks)
