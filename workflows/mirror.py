"""MirrorWorkflow: one event of a mirrored ClickUp list and Slack channel, written across.

Started by EventWorkflow as an abandoned child (id ``mirror/<tenant>/<provider>/<dedup key>``),
so a redelivery is the same mirror and the event's own outcome never waits for it. Each write
counts against the project's sync events per hour; over the limit it waits on a durable timer
(no worker holds it meanwhile) and asks again, first soon, then at most every few minutes, until
the limit allows it: delivered later, never dropped. The over-limit alert is raised once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.governance import GovernanceActivities
    from activities.mirror import MirrorActivities
    from workflows import policies
    from workflows.contracts.mirror import (
        MirrorInput,
        MirrorResult,
        MirrorWrite,
        MirrorWriteResult,
    )

# Asking again while over the limit: 1 s, 2 s, 4 s ... at most this apart, and never later than
# the breaker said it can allow the write (a limit raised meanwhile is seen within this).
RECHECK_MAX = timedelta(minutes=5)


def recheck(attempt: int, wait_seconds: float) -> timedelta:
    """How long the ``attempt``-th wait lasts (the breaker's wait, capped by the backoff)."""
    backoff = min(timedelta(seconds=2 ** min(attempt - 1, 16)), RECHECK_MAX)
    return min(timedelta(seconds=wait_seconds), backoff)


@workflow.defn(name="MirrorWorkflow")
class MirrorWorkflow:
    """Plan the writes an event becomes on the other side, then make each, in order."""

    @workflow.run
    async def run(self, inp: MirrorInput) -> MirrorResult:
        """Mirror one event."""
        plan = await workflow.execute_activity_method(
            MirrorActivities.plan_mirror, inp,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        result = MirrorResult(reason=plan.reason)
        alerted = False
        for write in plan.writes:
            attempt = 0
            while True:
                done = await self._write(write)
                if done.status != "wait":
                    break
                if done.alert is not None and not alerted:
                    alerted = True
                    await workflow.execute_activity_method(
                        GovernanceActivities.raise_alert, done.alert,
                        start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                        retry_policy=policies.DB_STEP)
                attempt += 1
                result.waited += 1
                await workflow.sleep(recheck(attempt, done.wait_seconds))
            if done.status == "done":
                result.written.append(f"{write.action}:{done.external_id}")
            else:
                result.failed.append(f"{write.action}: {done.reason}")
        return result

    @staticmethod
    async def _write(write: MirrorWrite) -> MirrorWriteResult:
        try:
            return await workflow.execute_activity_method(
                MirrorActivities.mirror_write, write,
                start_to_close_timeout=policies.GATEWAY_TIMEOUT,
                heartbeat_timeout=policies.GATEWAY_HEARTBEAT_TIMEOUT,
                retry_policy=policies.GATEWAY)
        except ActivityError as err:  # the remote kept failing: recorded, the rest goes on
            return MirrorWriteResult(status="failed", reason=str(err.cause or err))


def mirror_workflow_id(event_workflow_id: str) -> str:
    """The MirrorWorkflow of an event: ``mirror/<tenant>/<provider>/<dedup key>``."""
    return f"mirror/{event_workflow_id.removeprefix('event/')}"
