"""Admin: the audit, a tenant's (gateway calls and who did what) and the global one.

Rows are answered as infra/audit keeps them (``AuditRecord``: its fields are listed there, once).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from api.deps import AdminDep, PoolDep
from api.errors import ApiError
from api.inputs import INT64_MAX
from infra import audit

router = APIRouter(prefix="/admin", tags=["admin: audit"], dependencies=[AdminDep])


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    """Only a date-time with its offset (pydantic alone would take ``0.5`` as a Unix time)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2026-01-31T12:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc3339)]


def _filter(log: audit.Log, actor: str | None, action: str | None, outcome: str | None,
            since: datetime | None, before: datetime | None, before_id: int | None,
            limit: int, **gateway: str | None) -> audit.AuditFilter:
    if log == "all" and before_id is not None:
        raise ApiError(422, "invalid_request",
                       "query.before_id pages one log; page log=all with before=<created_at>")
    return audit.AuditFilter(log=log, actor=actor, action=action, outcome=outcome, since=since,
                             before=before, before_id=before_id, limit=limit, **gateway)


_BEFORE_ID = Query(default=None, ge=1, le=INT64_MAX, description="Page one log: rows older "
                   "than this id")
_OUTCOME = Query(default=None, description="ok, refused (any refused:<status>), refused:401, ...")


@router.get("/tenants/{tenant_id}/audit", summary="A tenant's audit, newest first")
async def tenant_audit(
    tenant_id: str, pool: PoolDep,
    log: Literal["gateway", "admin", "all"] = Query(
        default="gateway", description="gateway: the agents' tool calls (the default, as "
        "before); admin: who did what (admin writes, tokens, logins, refusals); all: both"),
    actor: str | None = None, action: str | None = None, outcome: str | None = _OUTCOME,
    since: Instant | None = None, before: Instant | None = None,
    agent_id: str | None = None, intent: str | None = None,
    decision: Literal["allowed", "denied"] | None = None,
    before_id: int | None = _BEFORE_ID, limit: int = Query(default=100, ge=1, le=1000),
) -> list[audit.AuditRecord]:
    """Only this tenant's rows; filter by actor, action, outcome, time, agent, intent, decision."""
    f = _filter(log, actor, action, outcome, since, before, before_id, limit,
                agent_id=agent_id, intent=intent, decision=decision)
    return await audit.list_tenant(pool, tenant_id, f)


@router.get("/audit", summary="Who did what, every tenant and the global actions")
async def global_audit(
    pool: PoolDep, tenant_id: str | None = None,
    global_only: bool = Query(default=False, description="Only actions of no tenant (kill "
                              "switch, tenant creation, refusals of unconfirmed members)"),
    actor: str | None = None, action: str | None = None, outcome: str | None = _OUTCOME,
    since: Instant | None = None, before: Instant | None = None,
    agent_id: str | None = None, before_id: int | None = _BEFORE_ID,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[audit.AuditRecord]:
    """The bootstrap super-admin's view of the activity log (gateway calls stay per tenant)."""
    f = _filter("admin", actor, action, outcome, since, before, before_id, limit,
                agent_id=agent_id)
    return await audit.list_all(pool, f, tenant_id=tenant_id, global_only=global_only)
