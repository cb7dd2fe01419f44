"""Workflow ids: derived from the provider's delivery identity, so a redelivery is the same run.

Ids are hierarchical: ``event/<tenant>/<provider>/<dedup key>`` for an event and
``run/<tenant>/<provider>/<dedup key>/<agent id>`` for one agent's run on it.
"""

from __future__ import annotations

CONTROL_WORKFLOW_ID = "switchboard-control"


def event_workflow_id(tenant_id: str, provider: str, dedup_key: str) -> str:
    """The EventWorkflow id of one delivery."""
    return f"event/{tenant_id}/{provider}/{dedup_key}"


def run_workflow_id(event_workflow_id: str, agent_id: str) -> str:
    """The AgentRunWorkflow id of one agent on one event."""
    return f"run/{event_workflow_id.removeprefix('event/')}/{agent_id}"


def agent_task_queue(agent_id: str) -> str:
    """The task queue an agent's worker polls."""
    return f"agent.{agent_id}"


def presence_workflow_id(agent_id: str) -> str:
    """The presence workflow of an agent."""
    return f"presence/{agent_id}"
