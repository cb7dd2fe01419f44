"""The platform's periodic passes (thread summaries, retention) as Temporal Schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from temporalio.types import MethodAsyncNoParam


async def ensure_pass_schedule(client: Client, schedule_id: str,
                               run: MethodAsyncNoParam[Any, Any], workflow_id: str,
                               task_queue: str, every: timedelta) -> bool:
    """Create a schedule starting one workflow (no argument) every ``every`` unless it exists;
    True if it was created. A pass still running when the next is due is skipped: never two at
    once, and no pile-up."""
    try:
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(run, id=workflow_id, task_queue=task_queue),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    return True
