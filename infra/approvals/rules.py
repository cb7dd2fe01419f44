"""What a grant's approval rule says, and the hash that binds a decision to exact arguments.

Pure functions: no I/O. A grant (intent + resource pattern) may carry a rule; a call whose
resource matches any grant with a rule waits for a person (the stricter grant wins).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field, model_validator

_SLACK_ID = r"^[A-Z0-9]{2,30}$"


class ApprovalRule(BaseModel):
    """Who may approve a grant's calls, where they are asked, and how long a run waits."""

    approvers: list[str] = Field(
        default_factory=list, max_length=50,
        description='Slack user ids allowed to decide, e.g. ["U0123ABCD"]')
    approver_group: str | None = Field(
        default=None, pattern=_SLACK_ID, description="A Slack user group id (S...): its members,"
        " read when the request is posted, may decide too")
    timeout_seconds: int | None = Field(
        default=None, ge=1, le=30 * 86400, description="How long the run waits; then denied "
        "(default: SWITCHBOARD_GATEWAY_APPROVAL_TIMEOUT_SECONDS, 24 h)")
    channel: str | None = Field(
        default=None, pattern=_SLACK_ID, description="Slack channel id of the request "
        "(default: the tenant's admin_channel)")

    @model_validator(mode="after")
    def _someone_decides(self) -> ApprovalRule:
        if not self.approvers and self.approver_group is None:
            raise ValueError("an approval rule needs approvers or an approver_group")
        for user in self.approvers:
            if not user.isalnum() or not user.isupper():
                raise ValueError(f"approver {user[:40]!r} is not a Slack user id (U...)")
        return self


def matching_rule(rules: list[tuple[str, dict[str, Any]]], resource: str) -> ApprovalRule | None:
    """The rule of the first grant (pattern, rule) whose pattern matches ``resource``."""
    for pattern, rule in rules:
        if fnmatch.fnmatchcase(resource, pattern):
            return ApprovalRule.model_validate(rule)
    return None


def args_hash(intent: str, arguments: dict[str, Any]) -> str:
    """SHA-256 of the intent and its exact arguments as canonical JSON (what a person decides)."""
    canonical = json.dumps({"intent": intent, "arguments": arguments}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
