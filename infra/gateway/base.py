"""What every gateway intent is made of, and the one error type executors raise.

An intent is defined once: its argument model, the resource its grant is checked against, the
vault secret it needs, and its executor. Executors get the credential in an ``ExecutionContext``
and must never return or raise it; the gateway scrubs results and errors of it anyway.

Errors: an executor raises ``GatewayError`` for a failure of the remote call. ``retryable`` says
whether Temporal should try again (429, secondary rate limits, 5xx, network) and ``retry_after``
when (from ``Retry-After``); any other 4xx is final.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

import asyncpg
from pydantic import BaseModel

from infra.settings import GatewaySettings
from workflows.contracts import StandardEvent

A = TypeVar("A", bound=BaseModel)

Result = dict[str, Any]


class GatewayError(Exception):
    """The remote call failed; ``retryable`` and ``retry_after`` tell Temporal what to do."""

    def __init__(self, message: str, *, retryable: bool, retry_after: timedelta | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


def retry_after(headers: Mapping[str, str]) -> timedelta | None:
    """The wait a rate-limited answer asks for: ``Retry-After`` seconds, else the rate-limit
    reset time (``X-RateLimit-Reset``, unix seconds) when no requests remain."""
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("retry-after", "").isdigit():
        return timedelta(seconds=int(lower["retry-after"]))
    reset, remaining = lower.get("x-ratelimit-reset", ""), lower.get("x-ratelimit-remaining")
    if reset.isdigit() and remaining in (None, "0"):
        return timedelta(seconds=max(1, int(reset) - int(time.time())))
    return None


def retryable_status(status: int) -> bool:
    """HTTP statuses worth retrying: timeouts, conflicts, rate limits and server errors."""
    return status in (408, 409, 425, 429) or status >= 500


@dataclass(frozen=True)
class ExecutionContext:
    """What an executor may use: the credential, the gateway's settings, the triggering event."""

    tenant_id: str
    agent_id: str
    credential: str = field(repr=False)
    settings: GatewaySettings
    idempotency_key: str
    event: StandardEvent | None = None
    # The platform's own database, for platform-internal intents (memory_remember): no secret.
    pool: asyncpg.Pool | None = field(default=None, repr=False)


Executor = Callable[[A, ExecutionContext], Awaitable[Result]]


@dataclass(frozen=True)
class Intent(Generic[A]):
    """One thing an agent may ask the gateway to do."""

    name: str
    description: str
    args: type[A]
    resource: Callable[[A], str]
    secret: str | None
    execute: Executor[A]
    # It creates or changes something at the remote (an issue, task, comment, message, push):
    # the circuit breaker counts it against the agent's rate once delivered.
    writes: bool = False
    # The outgoing text of a write, keyed with the intent's name and resource (its destination):
    # the same words to the same place twice within the duplicate window is a stuck agent; the
    # same words in another channel are another message.
    message: Callable[[A], str] | None = None
    # Only a run may ask for it (``delegate``: the run starts the child runs it resolves).
    runs_only: bool = False

    def __post_init__(self) -> None:
        if self.message is not None and not self.writes:
            raise ValueError(f"intent {self.name}: an intent that sends a message writes")
