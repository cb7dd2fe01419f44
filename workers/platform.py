"""The platform worker: workflows plus the pipeline's activities, on the platform queue."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from activities.events import EventActivities
from activities.governance import GovernanceActivities
from activities.identity import IdentityActivities
from workflows.agent_run import AgentRunWorkflow
from workflows.event import EventWorkflow


def platform_worker(client: Client, pool: asyncpg.Pool, task_queue: str) -> Worker:
    """A worker for EventWorkflow, AgentRunWorkflow and the pipeline activities."""
    events = EventActivities(pool)
    identity = IdentityActivities(pool)
    governance = GovernanceActivities(pool)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[EventWorkflow, AgentRunWorkflow],
        activities=[
            events.normalize_event, events.record_outcome, identity.resolve_agents,
            governance.record_usage, governance.raise_alert,
        ],
    )
