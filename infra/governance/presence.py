"""Sending an agent's heartbeat: signal-with-start of its presence workflow."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from workflows.contracts import PresenceInput
from workflows.ids import presence_workflow_id
from workflows.presence import PresenceWorkflow


async def heartbeat(client: Client, task_queue: str, tenant_id: str, agent_id: str,
                    interval_seconds: float = 30.0) -> None:
    """Record one heartbeat (starting the agent's presence workflow on the first)."""
    await client.start_workflow(
        PresenceWorkflow.run,
        PresenceInput(tenant_id=tenant_id, agent_id=agent_id, interval_seconds=interval_seconds),
        id=presence_workflow_id(tenant_id, agent_id), task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, start_signal="heartbeat")
