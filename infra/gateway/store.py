"""Gateway state: grants (default deny), idempotent calls, and the audit log."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from infra.database import delete_in_batches


async def grant_patterns(pool: asyncpg.Pool, tenant_id: str, agent_id: str
                         ) -> dict[str, list[str]]:
    """An agent's grants: intent -> resource patterns."""
    rows = await pool.fetch(
        "SELECT intent, resource_pattern FROM grants WHERE tenant_id = $1 AND agent_id = $2"
        " ORDER BY intent, resource_pattern", tenant_id, agent_id)
    grants: dict[str, list[str]] = {}
    for r in rows:
        grants.setdefault(r["intent"], []).append(r["resource_pattern"])
    return grants


async def approval_rules(pool: asyncpg.Pool, tenant_id: str, agent_id: str
                         ) -> dict[tuple[str, str], dict[str, Any]]:
    """An agent's grants that need a person's approval: (intent, pattern) -> rule."""
    rows = await pool.fetch(
        "SELECT intent, resource_pattern, approval FROM grants WHERE tenant_id = $1"
        " AND agent_id = $2 AND approval IS NOT NULL", tenant_id, agent_id)
    return {(r["intent"], r["resource_pattern"]): r["approval"] for r in rows}


@dataclass(frozen=True)
class CallerGrants:
    """What one call needs to know of its agent: its status and its patterns for the intent."""

    status: str
    patterns: list[str]
    # (pattern, approval rule) of the grants that need a person's approval (infra/approvals)
    approvals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


async def caller_grants(pool: asyncpg.Pool, tenant_id: str, agent_id: str, intent: str
                        ) -> CallerGrants | None:
    """The agent's status and resource patterns for ``intent`` in one query; None if unknown."""
    rows = await pool.fetch(
        "SELECT a.status, g.resource_pattern, g.approval FROM agents a LEFT JOIN grants g"
        " ON g.tenant_id = a.tenant_id AND g.agent_id = a.id AND g.intent = $3"
        " WHERE a.tenant_id = $1 AND a.id = $2 ORDER BY g.resource_pattern",
        tenant_id, agent_id, intent)
    if not rows:
        return None
    return CallerGrants(rows[0]["status"],
                        [r["resource_pattern"] for r in rows if r["resource_pattern"] is not None],
                        [(r["resource_pattern"], r["approval"]) for r in rows
                         if r["approval"] is not None])


async def grants_of(pool: asyncpg.Pool, tenant_id: str, agent_ids: list[str]
                    ) -> dict[str, set[str]]:
    """For several agents at once: agent -> intents they hold any grant for."""
    rows = await pool.fetch(
        "SELECT DISTINCT agent_id, intent FROM grants WHERE tenant_id = $1"
        " AND agent_id = ANY($2::text[])", tenant_id, agent_ids)
    held: dict[str, set[str]] = {a: set() for a in agent_ids}
    for r in rows:
        held[r["agent_id"]].add(r["intent"])
    return held


def allows(patterns: list[str], resource: str) -> bool:
    """Whether any pattern (shell-style: ``acme/*``) matches the resource, case-sensitively."""
    return any(fnmatch.fnmatchcase(resource, p) for p in patterns)


async def add_grant(pool: asyncpg.Pool, tenant_id: str, agent_id: str, intent: str,
                    pattern: str, approval: dict[str, Any] | None = None) -> None:
    """Allow an agent an intent on resources matching ``pattern`` (with ``approval``: only
    once a person approves each call, infra/approvals); granting again sets the rule."""
    await pool.execute(
        "INSERT INTO grants (tenant_id, agent_id, intent, resource_pattern, approval)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, agent_id, intent,"
        " resource_pattern) DO UPDATE SET approval = EXCLUDED.approval",
        tenant_id, agent_id, intent, pattern, approval)


async def delete_grant(pool: asyncpg.Pool, tenant_id: str, agent_id: str, intent: str,
                       pattern: str) -> bool:
    """Withdraw one grant; False if there was none."""
    status = await pool.execute(
        "DELETE FROM grants WHERE tenant_id = $1 AND agent_id = $2 AND intent = $3"
        " AND resource_pattern = $4", tenant_id, agent_id, intent, pattern)
    return bool(status != "DELETE 0")


@dataclass(frozen=True)
class PriorCall:
    """A call already made under the same idempotency key."""

    state: str
    result: dict[str, Any] | None
    error: str | None
    age_seconds: float


async def claim_call(pool: asyncpg.Pool, tenant_id: str, agent_id: str, key: str, intent: str,
                     resource: str) -> PriorCall | None:
    """Start a call under ``key``; return the earlier call if the key was used before."""
    row = await pool.fetchrow(
        "WITH ins AS (INSERT INTO gateway_calls (tenant_id, agent_id, idempotency_key, intent,"
        " resource, state) VALUES ($1, $2, $3, $4, $5, 'running')"
        " ON CONFLICT (tenant_id, agent_id, idempotency_key) DO NOTHING RETURNING 1)"
        " SELECT state, result, error, extract(epoch FROM now() - created_at) AS age"
        " FROM gateway_calls WHERE tenant_id = $1 AND agent_id = $2"
        " AND idempotency_key = $3 AND NOT EXISTS (SELECT 1 FROM ins)",
        tenant_id, agent_id, key, intent, resource)
    if row is None:
        return None
    return PriorCall(row["state"], row["result"], row["error"], float(row["age"]))


async def take_over_call(pool: asyncpg.Pool, tenant_id: str, agent_id: str, key: str,
                         older_than: float) -> bool:
    """Claim a call whose earlier attempt died mid-flight; False if another attempt won."""
    status = await pool.execute(
        "UPDATE gateway_calls SET created_at = now() WHERE tenant_id = $1 AND agent_id = $2"
        " AND idempotency_key = $3 AND state = 'running'"
        " AND created_at < now() - make_interval(secs => $4)",
        tenant_id, agent_id, key, older_than)
    return bool(status != "UPDATE 0")


async def finish_call(pool: asyncpg.Pool, tenant_id: str, agent_id: str, key: str, *,
                      result: dict[str, Any] | None, error: str | None) -> None:
    """Record how a call ended (done with its result, or failed for good)."""
    await pool.execute(
        "UPDATE gateway_calls SET state = $4, result = $5, error = $6, finished_at = now()"
        " WHERE tenant_id = $1 AND agent_id = $2 AND idempotency_key = $3",
        tenant_id, agent_id, key, "done" if error is None else "failed", result, error)


async def audit(pool: asyncpg.Pool, *, tenant_id: str, agent_id: str, intent: str,
                resource: str | None, decision: str, outcome: str, detail: str | None,
                duration_ms: int, idempotency_key: str | None, source: str) -> None:
    """Append one row to the audit log (never a secret: callers pass scrubbed text)."""
    await pool.execute(
        "INSERT INTO audit (tenant_id, agent_id, intent, resource, decision, outcome, detail,"
        " duration_ms, idempotency_key, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tenant_id, agent_id, intent, resource, decision, outcome, detail, duration_ms,
        idempotency_key, source)


async def prune_audit(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int) -> int:
    """Delete a tenant's gateway audit rows older than ``before``; return how many (retention).

    Walks the (tenant_id, id) index oldest first (ids grow with created_at), a batch at a time,
    and stops at the first batch that reaches a row inside the window.
    """
    return await delete_in_batches(
        pool, "DELETE FROM audit WHERE id = ANY(ARRAY(SELECT id FROM audit"
        " WHERE tenant_id = $1 ORDER BY id LIMIT $3)) AND created_at < $2", tenant_id, before,
        batch=batch)
