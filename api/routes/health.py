"""Liveness and a landing page that points at the docs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AppStateDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Whether this process can reach its database."""

    status: str
    database: bool


class Landing(BaseModel):
    """Where to go next."""

    name: str
    docs: str
    webhooks: str


@router.get("/", summary="What this is")
async def landing() -> Landing:
    """Links to the docs and the webhook URL shape."""
    return Landing(name="Switchboard", docs="/docs", webhooks="/webhooks/{provider}/{tenant}")


@router.get("/healthz", summary="Liveness and database reachability")
async def healthz(state: AppStateDep) -> Health:
    """200 with database true when the inbox can be written."""
    try:
        await state.pool.fetchval("SELECT 1")
        return Health(status="ok", database=True)
    except Exception:
        return Health(status="degraded", database=False)
