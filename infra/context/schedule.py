"""Temporal Schedules the platform keeps: thread summarization."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from workflows.summarize import SCHEDULE_ID, SummarizeThreadsWorkflow


async def ensure_summary_schedule(client: Client, task_queue: str, every: timedelta) -> bool:
    """Create the summarization schedule unless it exists; True if it was created."""
    try:
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    SummarizeThreadsWorkflow.run, id="summarize-pass", task_queue=task_queue),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                # A pass still running when the next is due: skip, do not pile up.
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    return True
