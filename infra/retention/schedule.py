"""The retention schedule: one RetentionWorkflow pass every ``every``."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from infra.pass_schedule import ensure_pass_schedule
from workflows.retention import SCHEDULE_ID, RetentionWorkflow


async def ensure_retention_schedule(client: Client, task_queue: str, every: timedelta) -> bool:
    """Create the retention schedule unless it exists; True if it was created."""
    return await ensure_pass_schedule(client, SCHEDULE_ID, RetentionWorkflow.run,
                                      "retention-pass", task_queue, every)
