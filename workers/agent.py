"""The agent worker: a Temporal activity worker polling its agent's own task queue.

An agent is named by its tenant and its id (ids are unique only within a tenant), so both name
the queue: ``agent.<tenant>.<agent id>``.

It runs the agent's two activities, think and run_tool (see ``workers.runtime``). With no LLM
configured the runtime uses the deterministic offline demo policy, clearly labelled as such, so
the default stack shows an agent handling events without any API key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from workers.runtime.agent import AgentRuntime
from workers.runtime.demo import DEMO_LABEL, demo_answer
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult
from workflows.ids import agent_task_queue

__all__ = ["DEMO_LABEL", "RunTool", "Think", "agent_worker", "demo_answer", "runtime_worker"]

Think = Callable[[ThinkInput], Awaitable[ThinkOutput]]
RunTool = Callable[[ToolInput], Awaitable[ToolResult]]

# A cancelled think (a session's interrupt) hears it only in the answer to a heartbeat the SDK
# sends to the server, which it throttles to 80% of the heartbeat timeout (8 s) by default; at
# most 1 s apart, the think stops within about a second (measured: 8.0 s before).
HEARTBEAT_THROTTLE = timedelta(seconds=1)


def runtime_worker(client: Client, tenant_id: str, runtime: AgentRuntime) -> Worker:
    """A worker for the runtime's agent queue, running its think and run_tool activities."""
    return Worker(client, task_queue=agent_task_queue(tenant_id, runtime.agent_id),
                  activities=[runtime.think, runtime.run_tool],
                  max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE)


def agent_worker(client: Client, tenant_id: str, agent_id: str, think: Think | None = None,
                 run_tool: RunTool | None = None) -> Worker:
    """A worker for one agent's queue; what is not given comes from the demo runtime.

    The demo runtime has no skills, so its run_tool answers every call ``UnknownTool``.
    """
    demo = AgentRuntime(agent_id)
    return Worker(client, task_queue=agent_task_queue(tenant_id, agent_id),
                  activities=[think or demo.think, run_tool or demo.run_tool],
                  max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE)
