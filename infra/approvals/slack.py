"""The approval message's two Slack calls, as platform-internal gateway intents.

They run through the gateway (the bot token from the vault, idempotency key, audit, held by the
kill switch) as system calls: they are not in the agents' registry, so no grant can offer them.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from infra.approvals.blocks import (
    ApprovalMessage,
    ApprovalOutcome,
    outcome_blocks,
    outcome_text,
    request_blocks,
    summary,
)
from infra.gateway.base import ExecutionContext, Intent, Result
from infra.gateway.clients import slack_client, slack_errors

POST = "approval_post"
UPDATE = "approval_update"


def _client(ctx: ExecutionContext) -> AsyncWebClient:
    return slack_client(ctx.credential, ctx.settings.slack_api_url, ctx.settings.timeout_seconds)


async def _call(method: Any, **kwargs: Any) -> Any:
    with slack_errors():
        return await method(**kwargs)


async def post_request(args: ApprovalMessage, ctx: ExecutionContext) -> Result:
    """Read the approver group's members (if any), then post the request with its buttons."""
    client = _client(ctx)
    members: list[str] = []
    if args.approver_group is not None:
        found = await _call(client.usergroups_users_list, usergroup=args.approver_group)
        members = [str(u) for u in found.get("users", [])]
    posted = await _call(client.chat_postMessage, channel=args.channel, text=summary(args),
                         blocks=request_blocks(args))
    return {"channel": posted["channel"], "ts": posted["ts"], "members": members}


async def update_outcome(args: ApprovalOutcome, ctx: ExecutionContext) -> Result:
    """Replace the request's buttons with its outcome (chat.update)."""
    updated = await _call(_client(ctx).chat_update, channel=args.channel, ts=args.ts,
                          text=f"{summary(args)}: {outcome_text(args)}",
                          blocks=outcome_blocks(args))
    return {"channel": updated["channel"], "ts": updated["ts"]}


APPROVAL_POST = Intent(
    name=POST, description="Post an approval request to Slack (platform-internal)",
    args=ApprovalMessage, resource=lambda a: a.channel, secret="slack_bot_token",
    execute=post_request)
APPROVAL_UPDATE = Intent(
    name=UPDATE, description="Show an approval's outcome in Slack (platform-internal)",
    args=ApprovalOutcome, resource=lambda a: a.channel, secret="slack_bot_token",
    execute=update_outcome)

INTERNAL_INTENTS: dict[str, Intent[Any]] = {POST: APPROVAL_POST, UPDATE: APPROVAL_UPDATE}
