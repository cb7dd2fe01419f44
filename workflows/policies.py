"""Timeouts and retry policies, named once and used by every activity call.

Temporal owns retries: SDK clients inside activities are built with their own retries off, so
every attempt is visible in Event History.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Database-backed pipeline steps: quick, retried patiently (the database may be restarting).
DB_STEP_TIMEOUT = timedelta(seconds=30)
DB_STEP = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["UnknownDelivery", "MalformedDelivery"],
)

# An agent's think step: an LLM call may be slow; the agent may be offline for a long time, in
# which case the task simply waits in the agent's queue (no schedule-to-start timeout).
THINK_TIMEOUT = timedelta(minutes=5)
THINK = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["InvalidAgentResponse"],
)
