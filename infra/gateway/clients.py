"""The provider clients, built in one place for the gateway's executors and for enrichment.

Both sides reach the same APIs with the same credentials (from the vault, per call) and the same
rules: Temporal owns retries, so every client is built with its own retries off, and the gateway's
timeout. Failures map to ``GatewayError`` here too, so a Slack 429 means the same on both sides.

ClickUp goes through httpx. Building an httpx client loads the CA bundle: 134 ms p50 on the
loaded 2-core machine, against 4 ms for the request itself (a gateway clickup_comment against
the local fake: p50 83 ms when each call built its client, 4-5 ms with one kept). So the
process keeps one client per event loop and base URL, ``CLICKUP``, for the gateway's ClickUp
executors and enrichment alike, and closes it at shutdown (``aclose_clients``: the API's
lifespan, the platform worker's exit). The credential goes with each request, never into a
client.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from github import Auth, Github
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from infra.gateway.base import GatewayError, retry_after, retryable_status

# Slack's own "try again later" codes, sometimes sent with HTTP 200.
SLACK_RETRYABLE_CODES = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                         "request_timeout"}


class HttpClients:
    """Long-lived httpx clients, one per event loop and base URL (connections belong to the loop
    that opened them); ``aclose`` closes those of the running loop."""

    def __init__(self) -> None:
        """No client yet: the first request builds one."""
        self._clients: dict[tuple[asyncio.AbstractEventLoop, str, float], httpx.AsyncClient] = {}

    def get(self, base_url: str, timeout: float) -> httpx.AsyncClient:
        """The client for ``base_url`` on the running event loop."""
        key = (asyncio.get_running_loop(), base_url, timeout)
        client = self._clients.get(key)
        if client is None or client.is_closed:
            self._clients = {k: c for k, c in self._clients.items() if not k[0].is_closed()}
            client = self._clients[key] = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        return client

    async def aclose(self) -> None:
        """Close the clients of the running event loop (at shutdown)."""
        loop = asyncio.get_running_loop()
        mine = [k for k in self._clients if k[0] is loop]
        for key in mine:
            await self._clients.pop(key).aclose()


# The process's ClickUp clients (built lazily, on first use; see the module's docstring).
CLICKUP = HttpClients()


async def aclose_clients() -> None:
    """Close the process's long-lived provider clients of the running loop (at shutdown)."""
    await CLICKUP.aclose()


def clickup_error(response: httpx.Response) -> GatewayError:
    """A ClickUp answer that is not a success, as the gateway reports it."""
    try:
        detail = response.json()
        reason = f"{detail.get('err')} ({detail.get('ECODE')})"
    except (ValueError, AttributeError):
        reason = response.reason_phrase
    retryable = retryable_status(response.status_code)
    return GatewayError(f"ClickUp answered {response.status_code}: {reason}",
                        retryable=retryable, status=response.status_code,
                        retry_after=retry_after(response.headers) if retryable else None)


async def clickup_request(client: httpx.AsyncClient, method: str, path: str, credential: str,
                          body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One ClickUp API v2 request with the credential; its JSON, or GatewayError."""
    try:
        response = await client.request(method, path, json=body,
                                        headers={"Authorization": credential})
    except httpx.TransportError as exc:
        raise GatewayError(f"ClickUp unreachable: {type(exc).__name__}",
                           retryable=True) from None
    if not response.is_success:
        raise clickup_error(response)
    data: dict[str, Any] = response.json()
    return data


def slack_client(token: str, base_url: str, timeout: float) -> AsyncWebClient:
    """A slack-sdk client with no retry handlers: one attempt per activity try."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=math.ceil(timeout),
                          retry_handlers=[])


def slack_api_error(exc: SlackApiError) -> GatewayError:
    """Slack's error answer (HTTP status, or an ``error`` code sent with 200) as GatewayError."""
    response: Any = exc.response
    # A SlackResponse has status_code; on an unreadable body slack-sdk attaches aiohttp's response.
    status = int(getattr(response, "status_code", 0) or getattr(response, "status", 0))
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    retryable = retryable_status(status) or code in SLACK_RETRYABLE_CODES
    return GatewayError(f"Slack answered {status}: {code or 'no error code'}",
                        retryable=retryable, status=status,
                        retry_after=retry_after(headers) if retryable else None)


@contextmanager
def slack_errors() -> Iterator[None]:
    """Map what a slack-sdk call raises to GatewayError (retryable when it may pass)."""
    try:
        yield
    except SlackApiError as exc:
        raise slack_api_error(exc) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GatewayError(f"Slack unreachable: {type(exc).__name__}", retryable=True) from None
    except SlackClientError as exc:
        raise GatewayError(f"Slack client error: {exc}", retryable=False) from None


def github_client(token: str, base_url: str, timeout: float, per_page: int = 30) -> Github:
    """A PyGithub client for one call: no retries (retry=None), no request spacing (nothing
    to space in one call), lazy objects so each action is one request. Close it after."""
    return Github(auth=Auth.Token(token), base_url=base_url, timeout=max(1, round(timeout)),
                  retry=None, lazy=True, per_page=per_page, seconds_between_requests=None,
                  seconds_between_writes=None)
