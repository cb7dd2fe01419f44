"""Slack intents: post a message to a channel or reply in a thread, through slack-sdk."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from infra.gateway.base import ExecutionContext, Intent, Result
from infra.gateway.clients import slack_client, slack_errors

Channel = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+$", max_length=40,
                               description='Channel id, e.g. "C0123456789" (not the #name)')]


class PostMessageArgs(BaseModel):
    """Arguments of slack_post_message."""

    channel: Channel
    text: str = Field(min_length=1, max_length=40000, description="Message text (Slack mrkdwn)")


class ReplyArgs(BaseModel):
    """Arguments of slack_reply."""

    channel: Channel
    thread_ts: str = Field(pattern=r"^\d+\.\d+$",
                           description='The "ts" of the thread\'s first message, e.g. '
                                       '"1700000000.000100"')
    text: str = Field(min_length=1, max_length=40000, description="Reply text (Slack mrkdwn)")


async def _post(ctx: ExecutionContext, channel: str, text: str,
                thread_ts: str | None = None) -> Result:
    """Call chat.postMessage and map its failures."""
    client = slack_client(ctx.credential, ctx.settings.slack_api_url, ctx.settings.timeout_seconds)
    with slack_errors():
        response = await client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
    return {"channel": response["channel"], "ts": response["ts"]}


async def post_message(args: PostMessageArgs, ctx: ExecutionContext) -> Result:
    """Post a message to a channel."""
    return await _post(ctx, args.channel, args.text)


async def reply(args: ReplyArgs, ctx: ExecutionContext) -> Result:
    """Reply in a message's thread."""
    return await _post(ctx, args.channel, args.text, args.thread_ts)


SLACK_POST_MESSAGE = Intent(
    name="slack_post_message",
    description="Post a new message to a Slack channel the bot is a member of. Use slack_reply "
                "instead to answer inside an existing thread. Returns the channel and the "
                "message's ts (use it as thread_ts to reply later).",
    args=PostMessageArgs, resource=lambda a: a.channel, secret="slack_bot_token",
    execute=post_message, writes=True, message=lambda a: a.text)
SLACK_REPLY = Intent(
    name="slack_reply",
    description="Reply inside an existing Slack thread, identified by its channel and the ts of "
                "its first message. Returns the channel and the reply's ts.",
    args=ReplyArgs, resource=lambda a: a.channel, secret="slack_bot_token", execute=reply,
    writes=True, message=lambda a: a.text)

INTENTS: list[Intent[Any]] = [SLACK_POST_MESSAGE, SLACK_REPLY]
