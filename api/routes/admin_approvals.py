"""Admin: a tenant's approval requests (calls held for a person) and deciding them.

Deciding here needs a write role on the tenant (admin or owner, api/authz.py); a click on the
Slack message needs one of the request's approvers instead (infra/approvals/decide.py). Either
way the first decision wins, is recorded in the activity log, and wakes the waiting run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep, TemporalDep, require_admin
from api.errors import ApiError
from api.openapi import error_responses
from infra.approvals import decide, store
from infra.users.roles import Principal
from workflows.contracts.approvals import ApprovalDecision

router = APIRouter(prefix="/admin/tenants", tags=["admin: approvals"], dependencies=[AdminDep])
log = logging.getLogger(__name__)

ApprovalId = Annotated[str, Path(min_length=1, max_length=64,
                                 description='An approval id, e.g. "apr_0123456789abcdef0123"')]
State = Literal["pending", "approved", "denied", "expired"]
SIGNAL_WITHIN_SECONDS = 5.0


class ApprovalView(BaseModel):
    """One request: the held call (agent, intent, exact arguments) and its decision."""

    id: str
    agent_id: str
    run_id: str = Field(description="The run waiting on it (its workflow id in Temporal)")
    intent: str
    resource: str
    arguments: dict[str, Any] = Field(description="The exact arguments the decision is for")
    args_hash: str = Field(description="sha256 of intent + arguments: what a decision is bound to")
    state: State = Field(description="pending until decided; expired: nobody decided in time "
                                     "(the call was denied)")
    approvers: list[str] = Field(description="Slack user ids who may decide by clicking")
    approver_group: str | None
    channel: str | None = Field(description="Slack channel of the request's message")
    message_ts: str | None
    decided_by: str | None = Field(description="Slack user id or the admin user's email")
    decided_via: Literal["slack", "api", "timeout"] | None
    reason: str | None
    timeout_seconds: int
    created_at: datetime
    posted_at: datetime | None
    decided_at: datetime | None
    applied_at: datetime | None = Field(description="When the approved call ran")


class DecisionBody(BaseModel):
    """Why (kept in the audit and shown in Slack)."""

    reason: str | None = Field(default=None, max_length=500)


def _view(a: store.Approval) -> ApprovalView:
    return ApprovalView(
        id=a.id, agent_id=a.agent_id, run_id=a.workflow_id, intent=a.intent,
        resource=a.resource, arguments=a.arguments, args_hash=a.args_hash,
        state=a.state,  # type: ignore[arg-type]
        approvers=a.approvers, approver_group=a.approver_group, channel=a.channel,
        message_ts=a.message_ts, decided_by=a.decided_by,
        decided_via=a.decided_via,  # type: ignore[arg-type]
        reason=a.reason, timeout_seconds=a.timeout_seconds, created_at=a.created_at,
        posted_at=a.posted_at, decided_at=a.decided_at, applied_at=a.applied_at)


@router.get("/{tenant_id}/approvals", summary="List approval requests, newest first")
async def list_approvals(tenant_id: str, pool: PoolDep, state: State | None = None,
                         limit: int = Query(default=100, ge=1, le=1000)) -> list[ApprovalView]:
    """The tenant's requests, optionally only those in one state (``pending``: to decide)."""
    return [_view(a) for a in await store.list_for(pool, tenant_id, state, limit)]


@router.get("/{tenant_id}/approvals/{approval_id}", summary="One approval request",
            responses=error_responses(404))
async def get_approval(tenant_id: str, approval_id: ApprovalId, pool: PoolDep) -> ApprovalView:
    """One request (another tenant's is 404)."""
    found = await store.get(pool, tenant_id, approval_id)
    if found is None:
        raise ApiError(404, "unknown_approval", f"no approval {approval_id!r}")
    return _view(found)


@router.post("/{tenant_id}/approvals/{approval_id}/{action}", summary="Approve or deny",
             responses=error_responses(404, 409))
async def decide_approval(
    tenant_id: str, approval_id: ApprovalId, action: Literal["approve", "deny"],
    body: DecisionBody, pool: PoolDep, temporal: TemporalDep,
    principal: Annotated[Principal, Depends(require_admin)],
) -> ApprovalView:
    """Decide a pending request: the run waiting on it goes on (409 if decided already)."""
    decision = await decide.decide(pool, tenant_id, approval_id, approve=action == "approve",
                                   actor=principal.actor, via="api", reason=body.reason,
                                   role=principal.role)
    if decision.verdict == "unknown" or decision.approval is None:
        raise ApiError(404, "unknown_approval", f"no approval {approval_id!r}")
    if decision.verdict == "already":
        raise ApiError(409, "already_decided", f"approval {approval_id} is {decision.detail}")
    decided = decision.approval
    try:  # the decision is stored: a run that misses the signal reads it when its wait ends
        async with asyncio.timeout(SIGNAL_WITHIN_SECONDS):
            client = await temporal.get()
            await client.get_workflow_handle(decided.workflow_id).signal(
                "approval_decided", ApprovalDecision(approval_id=decided.id,
                                                     approved=decided.state == "approved"))
    except Exception as err:  # Temporal away or the run gone: the decision stands
        log.warning("approval %s decided but its run was not signalled: %s", decided.id,
                    type(err).__name__)
    return _view(decided)
