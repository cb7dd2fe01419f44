"""The approval's Slack message as Block Kit: the request with its buttons, then its outcome.

Pure functions. The buttons carry the approval's id as their value; the action ids say what a
click means (``approval_approve``, ``approval_deny``): activities/approvals.py reads them back.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

APPROVE, DENY = "approval_approve", "approval_deny"
_ARGS_MAX = 2800  # a section's text holds 3000 characters


class ApprovalMessage(BaseModel):
    """What the request's message shows."""

    approval_id: str
    channel: str
    agent_id: str
    intent: str
    resource: str
    arguments: dict[str, Any]
    args_hash: str
    timeout_seconds: int
    approvers: list[str] = Field(default_factory=list)
    approver_group: str | None = None


class ApprovalOutcome(ApprovalMessage):
    """The request's message once decided: it replaces the buttons with the outcome."""

    ts: str
    state: str
    decided_by: str | None = None
    reason: str | None = None


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wait(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def summary(m: ApprovalMessage) -> str:
    """The message's plain text (notifications, clients without blocks)."""
    return f"Approval needed: agent {m.agent_id} asks for {m.intent} on {m.resource}"


def _request_blocks(m: ApprovalMessage) -> list[dict[str, Any]]:
    args = json.dumps(m.arguments, indent=2, sort_keys=True, ensure_ascii=False)
    if len(args) > _ARGS_MAX:
        args = args[:_ARGS_MAX] + "\n… (cut here; the hash binds the whole)"
    who = [f"<@{u}>" for u in m.approvers] + (
        [f"<!subteam^{m.approver_group}>"] if m.approver_group else [])
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*Approval needed*: agent `{_escaped(m.agent_id)}` asks for "
            f"`{_escaped(m.intent)}` on `{_escaped(m.resource)}`")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{_escaped(args)}```"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Approvers: {', '.join(who) or 'none'} · denied if nobody decides within "
            f"{_wait(m.timeout_seconds)} · {m.approval_id} · sha256 {m.args_hash[:16]}")}]},
    ]


def request_blocks(m: ApprovalMessage) -> list[dict[str, Any]]:
    """The request with Approve / Deny buttons."""
    buttons = [
        {"type": "button", "action_id": APPROVE, "value": m.approval_id, "style": "primary",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": DENY, "value": m.approval_id, "style": "danger",
         "text": {"type": "plain_text", "text": "Deny"}},
    ]
    return [*_request_blocks(m), {"type": "actions", "block_id": f"approval:{m.approval_id}",
                                  "elements": buttons}]


def outcome_text(o: ApprovalOutcome) -> str:
    """One line saying how the request ended."""
    if o.state == "expired":
        return f"*Expired*: nobody decided within {_wait(o.timeout_seconds)}, so it was denied"
    by = f"<@{o.decided_by}>" if o.decided_by and o.decided_by.isalnum() else (
        _escaped(o.decided_by or "someone"))
    why = f": {_escaped(o.reason)}" if o.reason else ""
    return f"*{o.state.capitalize()}* by {by}{why}"


def outcome_blocks(o: ApprovalOutcome) -> list[dict[str, Any]]:
    """The request without its buttons, its outcome underneath."""
    return [*_request_blocks(o),
            {"type": "section", "text": {"type": "mrkdwn", "text": outcome_text(o)}}]
