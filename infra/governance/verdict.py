"""What the circuit breaker decides, as pure functions of what the database counted.

The database counts under a lock (see ``limits.py``); the rules live here so that they can be
read, and tested, without one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from infra.governance.tenant_limits import Limits

MESSAGE_WINDOW = timedelta(minutes=1)
SYNC_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """Allowed, or refused with the reason and when a retry can succeed.

    ``retry_after`` is None when allowed, and when ``stuck``: a stuck agent is paused until an
    admin resumes it, so waiting does not help.
    """

    allowed: bool
    reason: str | None = None
    retry_after: timedelta | None = None
    stuck: bool = False
    counted: bool = False
    """This check recorded the message: withdraw it (``uncount_message``) if it is not sent."""


ALLOWED = Verdict(allowed=True)
COUNTED = Verdict(allowed=True, counted=True)


@dataclass(frozen=True)
class Window:
    """What the log holds for one agent or project at ``now``."""

    now: datetime
    counted: int
    """Entries inside the rate window."""
    nth_newest: datetime | None
    """The limit-th newest entry inside the rate window; None while fewer than the limit."""
    duplicate_at: datetime | None = None
    """The latest entry with the same message hash inside the duplicate window."""
    seen: bool = False
    """An entry with the same idempotency key exists: a retry of a call already counted."""
    intent_counted: int = 0
    """Entries of the same intent inside the rate window."""
    intent_nth_newest: datetime | None = None
    """The intent's limit-th newest entry inside the rate window; None while fewer."""


def message_hash(text: str, destination: str = "") -> bytes:
    """SHA-256 of the destination and the text, whitespace runs collapsed to one space.

    The same words sent to another channel, issue or task are another message.
    """
    return hashlib.sha256(f"{destination}\0{' '.join(text.split())}".encode()).digest()


def judge_message(window: Window, limits: Limits, agent_id: str,
                  intent: str | None = None) -> tuple[Verdict, bool]:
    """The verdict on one write (a message, comment, issue, task, push), and whether to count it.

    A write counts against the agent's rate of every write and, when the tenant set one,
    against its own intent's rate; the same message again is only looked for when it carries
    text (``window.duplicate_at``).
    """
    if window.seen:
        return ALLOWED, False
    if window.duplicate_at is not None:
        return Verdict(allowed=False, stuck=True, reason=(
            f"agent {agent_id} sent the same message twice within "
            f"{limits.duplicate_window_seconds} s: stuck agent")), False
    refusals: list[tuple[timedelta, str]] = []
    if window.nth_newest is not None:
        refusals.append((window.nth_newest + MESSAGE_WINDOW - window.now, (
            f"agent {agent_id} made {window.counted} writes (messages, comments, issues, tasks, "
            f"pushes) in the last 60 s (limit {limits.messages_per_minute} per minute)")))
    if intent is not None and window.intent_nth_newest is not None:
        refusals.append((window.intent_nth_newest + MESSAGE_WINDOW - window.now, (
            f"agent {agent_id} made {window.intent_counted} {intent} calls in the last 60 s "
            f"(limit {limits.per_minute(intent)} per minute for {intent})")))
    if refusals:
        wait, reason = max(refusals)
        return Verdict(allowed=False, retry_after=wait,
                       reason=f"{reason}; retry in {_seconds(wait)} s"), False
    return COUNTED, True


def judge_sync_event(window: Window, limits: Limits, project_id: str) -> tuple[Verdict, bool]:
    """The verdict on one sync event of a project, and whether to record it (count it)."""
    if window.seen:
        return ALLOWED, False
    if window.nth_newest is not None:
        wait = window.nth_newest + SYNC_WINDOW - window.now
        return Verdict(allowed=False, retry_after=wait, reason=(
            f"project {project_id} had {window.counted} sync events in the last hour "
            f"(limit {limits.sync_events_per_hour} per hour); retry in {_seconds(wait)} s")), False
    return ALLOWED, True


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))
