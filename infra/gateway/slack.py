"""Slack intents: post a message to a channel or reply in a thread, through slack-sdk."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import aiohttp
from pydantic import BaseModel, Field
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from infra.gateway.base import (
    ExecutionContext,
    GatewayError,
    Intent,
    Result,
    retry_after,
    retryable_status,
)

# Slack's own "try again later" codes, sometimes sent with HTTP 200.
RETRYABLE_CODES = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                   "request_timeout"}

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




def _api_error(exc: SlackApiError) -> GatewayError:
    response: Any = exc.response
    # A SlackResponse has status_code; on an unreadable body slack-sdk attaches aiohttp's response.
    status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0))
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    retryable = retryable_status(status) or code in RETRYABLE_CODES
    message = f"Slack answered {status}: {code or 'no error code'}"
    return GatewayError(message, retryable=retryable, status=status,
                        retry_after=retry_after(headers) if retryable else None)


async def _post(ctx: ExecutionContext, channel: str, text: str,
                thread_ts: str | None = None) -> Result:
    """Call chat.postMessage and map its failures."""
    # Temporal owns retries: no retry handlers, one attempt per activity try.
    client = AsyncWebClient(token=ctx.credential, base_url=ctx.settings.slack_api_url,
                            timeout=math.ceil(ctx.settings.timeout_seconds), retry_handlers=[])
    try:
        response = await client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
    except SlackApiError as exc:
        raise _api_error(exc) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GatewayError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None
    except SlackClientError as exc:
        raise GatewayError(f"Slack client error: {exc}", retryable=False) from None
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
