"""What a gateway call came to: one ``kind``, and the result or the error that goes with it.

Each door maps the kind with one table of its own (the HTTP route to a status, the socket to
``retryable``, the Temporal activity to a tool result or a retry); none reads the message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from workflows.contracts.agents import PendingApproval


class OutcomeKind(StrEnum):
    """The kinds of outcome; all but ``ok`` and ``replayed`` carry an ``error``."""

    OK = "ok"  # acted now; ``result`` is what the remote answered (scrubbed)
    REPLAYED = "replayed"  # the key's first call succeeded: its result, nothing done again
    INVALID = "invalid"  # unknown intent, or arguments that do not fit it: fix the call
    DENIED = "denied"  # no grant for it, or the circuit breaker found the agent stuck
    LIMITED = "limited"  # the circuit breaker's rate limit; retry after ``retry_after``
    HELD = "held"  # the kill switch is on: nothing was sent; retry after ``retry_after``
    RETRYABLE = "retryable"  # a passing failure (remote 429/5xx, vault away, timeout, key busy)
    FAILED = "failed"  # final: the remote refused or no credential (a repeated key replays it)


@dataclass(frozen=True)
class Outcome:
    """One gateway call's outcome (never crosses Temporal: each door maps it)."""

    kind: OutcomeKind
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_after: timedelta | None = None
    # Held for a person's decision (infra/approvals/gate.py): the run waits on this ticket.
    pending: PendingApproval | None = None

    @classmethod
    def refused(cls, kind: OutcomeKind, error: str, retry_after: timedelta | None = None
                ) -> Outcome:
        """An outcome without a result: ``error`` says why."""
        return cls(kind=kind, error=error, retry_after=retry_after)
