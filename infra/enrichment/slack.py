"""A Slack thread through ``conversations.replies`` with slack-sdk, bounded to a page."""

from __future__ import annotations

from typing import Any

from infra.enrichment.base import Found, Reach, Target
from infra.gateway.clients import slack_client, slack_errors


def _line(message: dict[str, Any]) -> str:
    who = message.get("user") or message.get("username") or message.get("bot_id") or "someone"
    return f"{who}: {message.get('text') or ''}".rstrip()


async def fetch_thread(target: Target, credential: str, reach: Reach) -> Found:
    """The thread's first ``reach.limit`` messages, root first (one attempt, no SDK retries)."""
    client = slack_client(credential, reach.slack_api_url, reach.timeout_seconds)
    with slack_errors():  # the gateway's client and error mapping (infra/gateway/clients)
        response = await client.conversations_replies(channel=target.container, ts=target.item,
                                                      limit=reach.limit)
    messages = [m for m in response.get("messages") or [] if isinstance(m, dict)]
    more = bool(response.get("has_more"))
    lines = [_line(m) for m in messages]
    if more:
        lines.append(f"(the thread goes on; only its first {len(messages)} messages are here)")
    facts: dict[str, str | int | float | bool] = {"thread_messages": len(messages)}
    if more:
        facts["thread_has_more"] = True
    return Found(what=f"Slack thread {target.container}/{target.item}",
                 context_title=f"Slack thread in {target.container}",
                 context_text="\n".join(lines), facts=facts)
