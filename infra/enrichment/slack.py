"""A Slack thread through ``conversations.replies`` with slack-sdk, bounded to a page."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from infra.enrichment.base import Found, Reach, Target
from infra.gateway.base import GatewayError, retry_after, retryable_status
from infra.gateway.slack import RETRYABLE_CODES


def _api_error(exc: SlackApiError) -> GatewayError:
    response: Any = exc.response
    status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0))
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    retryable = retryable_status(status) or code in RETRYABLE_CODES
    return GatewayError(f"Slack answered {status}: {code or 'no error code'}",
                        retryable=retryable, status=status,
                        retry_after=retry_after(headers) if retryable else None)


def _line(message: dict[str, Any]) -> str:
    who = message.get("user") or message.get("username") or message.get("bot_id") or "someone"
    return f"{who}: {message.get('text') or ''}".rstrip()


async def fetch_thread(target: Target, credential: str, reach: Reach) -> Found:
    """The thread's first ``reach.limit`` messages, root first (one attempt, no SDK retries)."""
    client = AsyncWebClient(token=credential, base_url=reach.slack_api_url,
                            timeout=math.ceil(reach.timeout_seconds), retry_handlers=[])
    try:
        response = await client.conversations_replies(channel=target.container, ts=target.item,
                                                      limit=reach.limit)
    except SlackApiError as exc:
        raise _api_error(exc) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GatewayError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None
    except SlackClientError as exc:
        raise GatewayError(f"Slack client error: {exc}", retryable=False) from None
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
