"""A goal as work for an agent: the event its think sees, and starting a manual run.

An agent thinks about a ``StandardEvent``; a goal becomes one: the goal as its title and text,
the caller's context after it, ``facts["trigger"]`` and ``ref.container`` saying who or what
started it (``ref.item`` stays empty, so a ``reply`` intent is refused: there is no thread to
answer on). ``StandardEvent.provider`` only knows the webhook providers (their tables check
it), so a goal is filed under GitHub: a known limit, said in the README.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from workflows.contracts import Actor, EventKind, ItemRef, Provider, StandardEvent
from workflows.contracts.runs import TriggeredRunInput
from workflows.triggered_run import TriggeredRunWorkflow, trigger_workflow_id, triggered_run_id

SOURCES = {"manual": "manual_run", "schedule": "scheduled_run"}


def goal_event(tenant_id: str, agent_id: str, goal: str, context: dict[str, Any],
               trigger: Literal["manual", "schedule"], by: str,
               facts: dict[str, Any] | None = None) -> StandardEvent:
    """The event an agent sees for a goal; ``by`` is who or what started it, ``facts`` more
    about it (a schedule's cron)."""
    text = goal
    if context:
        text += "\n\nContext:\n" + json.dumps(context, indent=2, sort_keys=True)
    where = f"{trigger} run by {by}"
    return StandardEvent(
        tenant_id=tenant_id, provider=Provider.GITHUB, source_event=SOURCES[trigger],
        kind=EventKind.NEW_WORK_ITEM, actor=Actor(id=by, name=by), title=goal[:200],
        text=text, ref=ItemRef(container=where), mentions=[agent_id],
        facts={"trigger": trigger, "goal": goal, "context": context, **(facts or {})})


async def start_manual_run(client: Client, task_queue: str, tenant_id: str, agent_id: str,
                           goal: str, context: dict[str, Any], by: str) -> str:
    """Start a manual run of ``agent_id`` on ``goal``; return its run id."""
    key = secrets.token_hex(8)
    workflow_id = trigger_workflow_id(tenant_id, "manual", key)
    await client.start_workflow(
        TriggeredRunWorkflow.run,
        TriggeredRunInput(agent_id=agent_id, trigger="manual",
                          event=goal_event(tenant_id, agent_id, goal, context, "manual", by)),
        id=workflow_id, task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"manual run of {agent_id}: {goal[:80]}")
    return triggered_run_id(workflow_id, agent_id)
