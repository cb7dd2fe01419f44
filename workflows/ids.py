"""Workflow ids: derived from the provider's delivery identity, so a redelivery is the same run.

Ids are hierarchical: ``event/<tenant>/<provider>/<dedup key>`` for an event and
``run/<tenant>/<provider>/<dedup key>/<agent id>`` for one agent's run on it. Agent ids are unique
only within their tenant, so everything named after an agent names its tenant too.
"""

from __future__ import annotations

CONTROL_WORKFLOW_ID = "switchboard-control"


def event_workflow_id(tenant_id: str, provider: str, dedup_key: str) -> str:
    """The EventWorkflow id of one delivery."""
    return f"event/{tenant_id}/{provider}/{dedup_key}"


def run_workflow_id(event_workflow_id: str, agent_id: str) -> str:
    """The AgentRunWorkflow id of one agent on one event."""
    return f"run/{event_workflow_id.removeprefix('event/')}/{agent_id}"


def agent_task_queue(tenant_id: str, agent_id: str) -> str:
    """The task queue an agent's worker polls: ``agent.<tenant>.<agent id>``."""
    return f"agent.{tenant_id}.{agent_id}"


def presence_workflow_id(tenant_id: str, agent_id: str) -> str:
    """The presence workflow of an agent: ``presence/<tenant>/<agent id>``."""
    return f"presence/{tenant_id}/{agent_id}"


def thread_key(provider: str, container: str, item: str) -> str:
    """A session's thread: ``<provider>:<container>:<item>`` (a Slack thread, an issue, a task)."""
    return f"{provider}:{container}:{item}"


def session_workflow_id(tenant_id: str, agent_id: str, thread: str) -> str:
    """The SessionWorkflow of an agent on a thread: ``session/<tenant>/<agent id>/<thread>``."""
    return f"session/{tenant_id}/{agent_id}/{thread}"


def session_run_id(event_workflow_id: str, agent_id: str, attempt: int = 1) -> str:
    """The AgentRunWorkflow of a session's turn: named after the turn's first event, as a run
    outside a session is (an interrupted think restarts as ``.2``, ``.3``, ...)."""
    run_id = run_workflow_id(event_workflow_id, agent_id)
    return run_id + (f".{attempt}" if attempt > 1 else "")


DELEGATE_SEGMENT = "/delegate/"


def delegate_run_id(parent_run_id: str, agent_id: str, nth: int = 1) -> str:
    """A child run started by ``delegate``: ``<parent run id>/delegate/<agent id>`` (the same
    agent again in that run: ``.2``, ``.3``, ...). Its depth is the count of the segment."""
    return f"{parent_run_id}{DELEGATE_SEGMENT}{agent_id}" + (f".{nth}" if nth > 1 else "")
