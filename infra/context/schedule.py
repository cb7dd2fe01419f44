"""Temporal Schedules the platform keeps: thread summarization."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from infra.pass_schedule import ensure_pass_schedule
from workflows.summarize import SCHEDULE_ID, SummarizeThreadsWorkflow


async def ensure_summary_schedule(client: Client, task_queue: str, every: timedelta) -> bool:
    """Create the summarization schedule unless it exists; True if it was created."""
    return await ensure_pass_schedule(client, SCHEDULE_ID, SummarizeThreadsWorkflow.run,
                                      "summarize-pass", task_queue, every)
