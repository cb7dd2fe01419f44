"""The activity log: one row per recorded action, and the one view over it and the gateway's.

Writers pass an :class:`AuditEntry`; ``record`` never raises, so recording cannot make the
request it records fail. Reads join the gateway's ``audit`` rows (owned by infra/gateway/store.py)
so a tenant sees both logs under one set of filters, each row saying which ``log`` it came from.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from infra.database import delete_in_batches

log = logging.getLogger(__name__)

Log = Literal["all", "gateway", "admin"]

# A slow or absent database must not hold the answer it records for long.
RECORD_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class AuditEntry:
    """One action to record; ``detail`` is small and never holds a secret."""

    actor: str
    action: str
    outcome: str
    tenant_id: str | None = None
    role: str | None = None
    agent_id: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFilter:
    """What a reader asks for; None means any."""

    log: Log = "all"
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    before_id: int | None = None
    agent_id: str | None = None
    intent: str | None = None
    decision: str | None = None
    limit: int = 100


class AuditRecord(BaseModel):
    """A row of either log: ``gateway`` (an agent's tool call) or ``admin`` (who did what).

    Gateway rows keep their own fields (agent_id, intent, resource, decision, duration_ms,
    idempotency_key, source: the door the call came through); on admin rows those are null but
    for ``agent_id`` when an agent acted. Neither ever holds a secret. The admin API answers
    these rows as they are (api/routes/admin_audit.py).
    """

    model_config = ConfigDict(frozen=True)

    log: Literal["gateway", "admin"]
    id: int = Field(description="Unique within its log")
    created_at: datetime
    tenant_id: str | None = Field(description="null: a global action (kill switch, tenants)")
    actor: str = Field(description="bootstrap-admin, a user's email, agent:<tenant>/<agent>, "
                                   "anonymous, control-workflow")
    role: str | None
    action: str = Field(description="e.g. agent.pause, secret.set, oauth.token, "
                                    "kill_switch.stop_all, gateway.<intent>")
    target: str | None
    outcome: str = Field(description="ok, refused:<status>, error:<status>; gateway: ok, "
                                     "error, replayed, refused")
    detail: str | dict[str, Any] | None
    agent_id: str | None
    intent: str | None
    resource: str | None
    decision: str | None
    duration_ms: int | None
    idempotency_key: str | None
    source: str | None


def _storable(value: Any) -> Any:
    """PostgreSQL text and jsonb hold no NUL: a refused request may carry one; mark it instead."""
    if isinstance(value, str):
        return value.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


async def record(pool: asyncpg.Pool, entry: AuditEntry) -> None:
    """Append one entry; a failure is logged, never raised."""
    e = entry
    try:
        async with asyncio.timeout(RECORD_TIMEOUT_SECONDS):
            await pool.execute(
                "INSERT INTO activity_log (tenant_id, actor, role, agent_id, action, target,"
                " outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                *(_storable(v) for v in (e.tenant_id, e.actor, e.role, e.agent_id, e.action,
                                         e.target, e.outcome, e.detail)))
    except Exception as err:  # the audit never fails the request it records
        log.warning("audit: %s by %s not recorded: %s", entry.action, entry.actor,
                    type(err).__name__)


_GATEWAY = (
    "SELECT 'gateway' AS log, id, created_at, tenant_id,"
    " 'agent:' || tenant_id || '/' || agent_id AS actor, 'agent' AS role,"
    " 'gateway.' || intent AS action, resource AS target, outcome, to_jsonb(detail) AS detail,"
    " agent_id, intent, resource, decision, duration_ms, idempotency_key, source"
    " FROM audit WHERE {where}"
)
_ACTIVITY = (
    "SELECT 'admin' AS log, id, at AS created_at, tenant_id, actor, role, action, target,"
    " outcome, detail, agent_id, NULL::text AS intent, NULL::text AS resource,"
    " NULL::text AS decision, NULL::integer AS duration_ms, NULL::text AS idempotency_key,"
    " NULL::text AS source FROM activity_log WHERE {where}"
)
# $1 tenant, $2 log; the outer filters are $3.. (see _params). A filter on a field a row does
# not have (intent on an activity row) leaves the row out, as NULL matches nothing.
_OUTER = (
    " WHERE ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR action = $4)"
    " AND ($5::text IS NULL OR outcome = $5 OR outcome LIKE $5 || ':%')"
    " AND ($6::timestamptz IS NULL OR created_at >= $6)"
    " AND ($7::timestamptz IS NULL OR created_at < $7)"
    " AND ($8::bigint IS NULL OR id < $8) AND ($9::text IS NULL OR agent_id = $9)"
    " AND ($10::text IS NULL OR intent = $10) AND ($11::text IS NULL OR decision = $11)"
)
# One log pages by id (as the gateway's view always did); both together by time.
_ORDER = {"all": " ORDER BY created_at DESC, log, id DESC LIMIT $12",
          "gateway": " ORDER BY id DESC LIMIT $12", "admin": " ORDER BY id DESC LIMIT $12"}


def _params(f: AuditFilter) -> list[Any]:
    return [f.actor, f.action, f.outcome, f.since, f.before, f.before_id, f.agent_id, f.intent,
            f.decision, f.limit]


def _record(row: asyncpg.Record) -> AuditRecord:
    return AuditRecord(**dict(row))


async def list_tenant(pool: asyncpg.Pool, tenant_id: str, f: AuditFilter) -> list[AuditRecord]:
    """A tenant's rows of the chosen log(s), newest first; never another tenant's."""
    scoped = "tenant_id = $1 AND $2::text IN ('all', '{log}')"
    sql = ("SELECT * FROM (" + _GATEWAY.format(where=scoped.format(log="gateway"))
           + " UNION ALL " + _ACTIVITY.format(where=scoped.format(log="admin")) + ") rows"
           + _OUTER + _ORDER[f.log])
    rows = await pool.fetch(sql, tenant_id, f.log, *_params(f))
    return [_record(r) for r in rows]


async def list_all(pool: asyncpg.Pool, f: AuditFilter, *, tenant_id: str | None = None,
                   global_only: bool = False) -> list[AuditRecord]:
    """The activity log of every tenant and the global actions, newest first."""
    where = ("($1::text IS NULL OR tenant_id = $1) AND $2::text <> 'gateway'"
             " AND (NOT $13::boolean OR tenant_id IS NULL)")
    sql = "SELECT * FROM (" + _ACTIVITY.format(where=where) + ") rows" + _OUTER + _ORDER["admin"]
    rows = await pool.fetch(sql, tenant_id, "admin", *_params(f), global_only)
    return [_record(r) for r in rows]


async def prune_activity(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int) -> int:
    """Delete a tenant's activity records older than ``before``; return how many (retention).

    Walks the (tenant_id, id) index oldest first (ids grow with ``at``), a batch at a time, and
    stops at the first batch that reaches a record inside the window. Global records (no tenant:
    kill switch, tenant creation) are kept.
    """
    return await delete_in_batches(
        pool, "DELETE FROM activity_log WHERE id = ANY(ARRAY(SELECT id FROM activity_log"
        " WHERE tenant_id = $1 ORDER BY id LIMIT $3)) AND at < $2", tenant_id, before,
        batch=batch)
