"""The gateway's approval check: hold a call for a person, or let an approved one through.

A call whose resource matches a grant with an approval rule is not executed: a request is
opened (one per idempotency key, so a retried activity opens one), posted to Slack through the
gateway, and the call answers ``denied`` with a ``pending`` ticket the run waits on. The run then
calls again with the approval's id; that call runs only if the approval is ``approved`` and was
given for this agent, this intent and these exact arguments (their hash).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from infra import audit
from infra.approvals import store
from infra.approvals.blocks import ApprovalMessage
from infra.approvals.rules import args_hash, matching_rule
from infra.approvals.slack import POST
from infra.directory.tenants import admin_channel
from infra.gateway.outcome import Outcome, OutcomeKind
from workflows.contracts import GatewayCall, ToolCall
from workflows.contracts.agents import PendingApproval

SystemCall = Callable[[GatewayCall], Awaitable[Outcome]]
_PASSING = (OutcomeKind.RETRYABLE, OutcomeKind.HELD, OutcomeKind.LIMITED)


class ApprovalGate:
    """Holds calls that need a person (built by the gateway, which passes its system door)."""

    def __init__(self, pool: asyncpg.Pool, default_timeout: int, system: SystemCall) -> None:
        self._pool = pool
        self._default_timeout = default_timeout
        self._system = system

    async def check(self, call: GatewayCall, resource: str,
                    rules: list[tuple[str, dict[str, Any]]], workflow_id: str | None
                    ) -> Outcome | None:
        """None: go on and execute; otherwise the outcome to answer instead."""
        rule = matching_rule(rules, resource)
        if rule is None:
            return None
        name, digest = call.call.name, args_hash(call.call.name, call.call.arguments)
        if call.approval_id is not None:
            row = await store.get(self._pool, call.tenant_id, call.approval_id)
            if (row is not None and row.state == "approved" and row.agent_id == call.agent_id
                    and row.intent == name and row.args_hash == digest):
                return None
            why = ("it is not approved" if row is None or row.state != "approved"
                   else "it was given for other arguments")
            return Outcome.refused(OutcomeKind.DENIED,
                                   f"approval {call.approval_id} does not allow this call: {why}")
        if workflow_id is None:
            return Outcome.refused(OutcomeKind.DENIED, (
                f"{name} on {resource} needs a person's approval; only a run can wait for one"))
        row = await store.open_request(self._pool, store.NewRequest(
            tenant_id=call.tenant_id, agent_id=call.agent_id, request_key=call.idempotency_key,
            workflow_id=workflow_id, intent=name, resource=resource,
            arguments=call.call.arguments, args_hash=digest, approvers=rule.approvers,
            approver_group=rule.approver_group,
            channel=rule.channel or await admin_channel(self._pool, call.tenant_id),
            timeout_seconds=rule.timeout_seconds or self._default_timeout))
        if row.posted_at is None and row.state == "pending":
            refused = await self._post(row)
            if refused is not None:
                return refused
        return Outcome(OutcomeKind.DENIED, error=f"waiting for a person's approval ({row.id})",
                       pending=PendingApproval(approval_id=row.id,
                                               timeout_seconds=row.timeout_seconds))

    async def _post(self, row: store.Approval) -> Outcome | None:
        """Post the request to Slack (none without a channel: the admin API still lists it)."""
        posted: dict[str, Any] = {}
        if row.channel is not None:
            message = ApprovalMessage(
                approval_id=row.id, channel=row.channel, agent_id=row.agent_id,
                intent=row.intent, resource=row.resource, arguments=row.arguments,
                args_hash=row.args_hash, timeout_seconds=row.timeout_seconds,
                approvers=row.approvers, approver_group=row.approver_group)
            outcome = await self._system(GatewayCall(
                tenant_id=row.tenant_id, agent_id=row.agent_id,
                call=ToolCall(id=f"{row.id}/post", name=POST, target="gateway",
                              arguments=message.model_dump(mode="json")),
                idempotency_key=f"approval/{row.id}/post"))
            if outcome.kind in _PASSING:
                return outcome  # the activity retries; the request stays as it is
            if outcome.result is not None:
                posted = outcome.result
                await store.mark_posted(self._pool, row.id, str(posted["channel"]),
                                        str(posted["ts"]), list(posted.get("members", [])))
            else:
                posted = {"error": outcome.error}
        await audit.record(self._pool, audit.AuditEntry(
            actor=f"agent:{row.tenant_id}/{row.agent_id}", role="agent",
            action="approval.request", outcome="ok" if "error" not in posted else "error:slack",
            tenant_id=row.tenant_id, agent_id=row.agent_id, target=row.id,
            detail={"intent": row.intent, "resource": row.resource, "args_hash": row.args_hash,
                    "channel": row.channel, "timeout_seconds": row.timeout_seconds,
                    **({"slack_error": posted["error"]} if "error" in posted else {})}))
        return None
