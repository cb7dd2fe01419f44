"""The ``delegate`` intent: whom a goal goes to, checked like any gateway call.

The gateway checks the grant (its resource is the agent id or alias named, so ``*`` or
``reviewer`` or ``AI_Squad``), counts it in the circuit breaker (the same goal to the same agent
twice within the duplicate window is a stuck agent), audits it and keeps its answer under the
call's idempotency key. Its executor only resolves the name to the tenant's active agents; the
child runs themselves are started by AgentRunWorkflow (README, Delegation).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, Field

from infra.directory.resolver import choose_agents
from infra.directory.routing import load_routing_view
from infra.gateway.base import ExecutionContext, GatewayError, Intent, Result
from infra.gateway.store import grants_of
from workflows.names import DELEGATE_INTENT as DELEGATE


class DelegateArgs(BaseModel):
    """Arguments of delegate."""

    agent: str = Field(min_length=1, max_length=100,
                       description="An agent id, an agent's name or an alias of your tenant (an "
                                   "alias of several agents runs each of them)")
    goal: str = Field(min_length=1, max_length=8000,
                      description="What the other agent should do and answer, self-contained")


async def resolve(args: DelegateArgs, ctx: ExecutionContext) -> Result:
    """The tenant's active agents the name stands for, each with the intents it holds."""
    if ctx.pool is None:
        raise GatewayError("delegate needs the platform database", retryable=False)
    view = await load_routing_view(ctx.pool, ctx.tenant_id, "switchboard", [args.agent], [])
    if view is None:
        raise GatewayError(f"tenant {ctx.tenant_id} no longer exists", retryable=False)
    # Only the name counts: no fallback to the tenant's or a project's default agents.
    named = dataclasses.replace(view, tenant_defaults=[], project_defaults=[])
    chosen = choose_agents(named, [args.agent], [])
    if not chosen.agents:
        raise GatewayError(f"no active agent or alias named {args.agent!r} in this tenant"
                           f" ({chosen.reason})", retryable=False)
    held = await grants_of(ctx.pool, ctx.tenant_id, [t.agent_id for t in chosen.agents])
    return {"goal": args.goal,
            "delegates": [t.model_dump(mode="json") for t in chosen.agents],
            "intents": {a: sorted(i) for a, i in held.items()}}


DELEGATE_INTENT: Intent[Any] = Intent(
    name=DELEGATE,
    description="Hand a sub-task to another agent (or each agent of an alias) of your tenant and "
                "wait for its final answer, which comes back as this tool's result. Give a "
                "self-contained goal: the other agent sees only that.",
    args=DelegateArgs, resource=lambda a: a.agent, secret=None, execute=resolve, writes=True,
    message=lambda a: a.goal, runs_only=True)
