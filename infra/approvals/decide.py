"""A person's decision on an approval: who may make it, recording it, and what it came to.

Two doors decide: a click on the Slack message (``block_actions``, signed; the clicker must be
one of the approvers, the rule's user ids plus the group's members read when it was posted) and
the admin API (a user whose role on the tenant allows the write). The first decision wins; each
is recorded in the activity log with who, when (the row's time) and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

from infra import audit
from infra.approvals import store

Verdict = Literal["decided", "refused", "already", "unknown"]


@dataclass(frozen=True)
class Decision:
    """What a decision came to; ``approval`` is the row after it (None: unknown)."""

    verdict: Verdict
    approval: store.Approval | None
    detail: str = ""


async def decide(pool: asyncpg.Pool, tenant_id: str, approval_id: str, *, approve: bool,
                 actor: str, via: Literal["slack", "api"], reason: str | None = None,
                 role: str | None = None) -> Decision:
    """Decide a pending approval of the tenant's, if ``actor`` may (``via`` slack: a user id)."""
    row = await store.get(pool, tenant_id, approval_id)
    if row is None:
        return Decision("unknown", None, f"no approval {approval_id!r}")
    action = "approval.approve" if approve else "approval.deny"
    entry = {"intent": row.intent, "resource": row.resource, "args_hash": row.args_hash,
             "via": via, **({"reason": reason[:500]} if reason else {})}
    if via == "slack" and actor not in row.approvers:
        await audit.record(pool, audit.AuditEntry(
            actor=f"slack:{actor}", role=None, action=action, outcome="refused:not_an_approver",
            tenant_id=tenant_id, agent_id=row.agent_id, target=row.id, detail=entry))
        return Decision("refused", row, f"<@{actor}> is not an approver of this request")
    decided = await store.decide(pool, row.id, "approved" if approve else "denied",
                                 actor, via, reason)
    if decided is None:
        now = await store.get(pool, tenant_id, approval_id)
        state = now.state if now is not None else row.state
        return Decision("already", now or row, f"already {state}")
    await audit.record(pool, audit.AuditEntry(
        actor=f"slack:{actor}" if via == "slack" else actor, role=role, action=action,
        outcome="ok", tenant_id=tenant_id, agent_id=row.agent_id, target=row.id, detail=entry))
    return Decision("decided", decided)


async def expire(pool: asyncpg.Pool, tenant_id: str, approval_id: str) -> store.Approval | None:
    """The run's wait ran out: deny the approval unless someone decided first; the row after."""
    expired = await store.decide(pool, approval_id, "expired", "timeout", "timeout", None)
    if expired is not None:
        await audit.record(pool, audit.AuditEntry(
            actor="approval-timeout", action="approval.expire", outcome="ok",
            tenant_id=tenant_id, agent_id=expired.agent_id, target=expired.id,
            detail={"intent": expired.intent, "resource": expired.resource,
                    "args_hash": expired.args_hash,
                    "timeout_seconds": expired.timeout_seconds}))
        return expired
    return await store.get(pool, tenant_id, approval_id)
