"""Flipping the kill switch: signal-with-start of the switchboard-control workflow."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from workflows.contracts import ControlState, StopAll
from workflows.control import ControlWorkflow
from workflows.ids import CONTROL_WORKFLOW_ID


async def ensure_control(client: Client, task_queue: str) -> None:
    """Start the control workflow unless it runs already."""
    await client.start_workflow(
        ControlWorkflow.run, ControlState(), id=CONTROL_WORKFLOW_ID, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def stop_all(client: Client, task_queue: str, reason: str) -> None:
    """Signal stop_all, starting the control workflow if needed."""
    await client.start_workflow(
        ControlWorkflow.run, ControlState(), id=CONTROL_WORKFLOW_ID, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="stop_all", start_signal_args=[StopAll(reason=reason)])


async def resume(client: Client, task_queue: str) -> None:
    """Signal resume, starting the control workflow if needed."""
    await client.start_workflow(
        ControlWorkflow.run, ControlState(), id=CONTROL_WORKFLOW_ID, task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, start_signal="resume")


async def state(client: Client) -> ControlState:
    """The switch's state, by query."""
    handle = client.get_workflow_handle_for(ControlWorkflow.run, CONTROL_WORKFLOW_ID)
    return await handle.query(ControlWorkflow.state)
