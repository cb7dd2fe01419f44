"""Timeouts and retry policies, named once and used by every activity call.

Temporal owns retries: SDK clients inside activities are built with their own retries off, so
every attempt is visible in Event History.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import Priority, RetryPolicy

from workflows.errors import ErrorType

# Database-backed pipeline steps: quick, retried patiently (the database may be restarting).
DB_STEP_TIMEOUT = timedelta(seconds=30)
DB_STEP = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[ErrorType.UNKNOWN_DELIVERY, ErrorType.MALFORMED_DELIVERY],
)

# An agent's steps: an LLM call may be slow. A worker that dies mid-step stops heartbeating, so
# the step is retried on another (or the restarted) worker after AGENT_HEARTBEAT_TIMEOUT rather
# than after the whole start-to-close timeout. While no worker is up the task waits in the
# agent's queue, up to the agent's expiry window (schedule-to-start, never retried).
AGENT_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
THINK_TIMEOUT = timedelta(minutes=5)
THINK = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=[ErrorType.LLM_REQUEST_REJECTED],
)

TOOL_TIMEOUT = timedelta(minutes=2)
TOOL = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
    non_retryable_error_types=[ErrorType.UNKNOWN_TOOL, ErrorType.INVALID_TOOL_ARGUMENTS],
)


# Gateway intents: remote APIs. Rate limits (429, secondary limits) come back with the delay the
# remote asked for (next_retry_delay); 4xx other than those are final and not retried.
# A call held by the kill switch waits inside its activity, heartbeating, for as long as the
# switch is on: a long start-to-close, with the heartbeat noticing a dead worker.
GATEWAY_TIMEOUT = timedelta(hours=24)
GATEWAY_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
GATEWAY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=6,
)


# Enrichment before dispatch (the task, thread or issue an event is about): a read on the
# gateway queue that the agents wait for, so it gets a few quick tries and then gives up: the
# event goes on bare, with a note, ENRICH_TIMEOUT after it was asked for at the latest (a dead
# provider or no gateway worker). Each try's remote call times out in 2 s (infra/enrichment).
ENRICH_TIMEOUT = timedelta(seconds=4)
ENRICH_ATTEMPT_TIMEOUT = timedelta(seconds=3)
ENRICH = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=4,
)

# Context retrieved per event: enough for the largest per-agent budget; each agent's run gets
# the most relevant items that fit its own budget.
CONTEXT_TOKENS = 4000

# Summarizing a long thread: an LLM call, or an extractive pass embedding every sentence.
SUMMARY_TIMEOUT = timedelta(minutes=5)


def seconds(value: int) -> timedelta:
    """A timeout given in seconds (settings and agent profiles store plain numbers)."""
    return timedelta(seconds=value)

# One tenant's retention prune: batched statements over possibly large tables.
RETENTION_TIMEOUT = timedelta(minutes=30)

# Task priorities on the platform queue (1 runs first; a workflow's tasks and its activities take
# its priority): under a backlog, work in flight finishes before new work starts. Runs go first,
# then sessions, then new events (the relay's starts: the default, 3). Without them a burst of
# 20,000 events went through its first step together: 16 thinks in the first 470 s.
RUN_PRIORITY = Priority(priority_key=1)
SESSION_PRIORITY = Priority(priority_key=2)
