"""Names of the activities implemented in another process, spelled once.

AgentRunWorkflow calls these by name because their implementation lives elsewhere: ``think`` and
``run_tool`` in the agent's own runtime (workers/runtime/agent.py) or behind its WebSocket
(api/agent_channel.py), ``gateway_execute`` in the gateway worker (activities/gateway.py). Every
implementation, and every test fake of one, takes its name from here. Platform activities need
no entry: workflows reference them by method (``execute_activity_method``).
"""

from __future__ import annotations

THINK_ACTIVITY = "think"
TOOL_ACTIVITY = "run_tool"
GATEWAY_ACTIVITY = "gateway_execute"
# Beside gateway_execute on the gateway queue (activities/approvals.py, activities/delegation.py)
APPROVAL_SETTLE_ACTIVITY = "approval_settle"
DELEGATION_PLAN_ACTIVITY = "delegation_plan"

# The intent AgentRunWorkflow runs itself, as child runs (infra/delegation/intent.py)
DELEGATE_INTENT = "delegate"

CROSS_PROCESS_ACTIVITIES = (THINK_ACTIVITY, TOOL_ACTIVITY, GATEWAY_ACTIVITY,
                            APPROVAL_SETTLE_ACTIVITY, DELEGATION_PLAN_ACTIVITY)
