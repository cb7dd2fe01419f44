"""A click on an approval's Slack buttons, inside the click's EventWorkflow (README, Approvals).

The click arrived like any signed Slack delivery (inbox, relay, EventWorkflow), so a click is
never lost while Temporal or a worker is away. A local activity decides it (only an allowed
approver's click counts); the waiting run is then woken by a signal from this workflow.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalClicks
    from workflows import policies
    from workflows.contracts import StandardEvent
    from workflows.contracts.approvals import ApprovalClick

APPROVAL_CLICKS_PATCH = "approval-clicks"


async def approval_click(event: StandardEvent) -> ApprovalClick:
    """Decide the click's approval, if it is one, and wake its run."""
    click: ApprovalClick = await workflow.execute_local_activity_method(
        ApprovalClicks.decide_click, event,
        start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
    if click.workflow_id is not None and click.decision is not None:
        try:
            await workflow.get_external_workflow_handle(click.workflow_id).signal(
                "approval_decided", click.decision)
        except FailureError:  # the run ended (timed out) meanwhile: the record stands
            return click.model_copy(update={"note": "the run no longer waits"})
    return click
