"""The resolver: who an event is meant for.

Explicit targets win: mentions and assignees that name an alias (expanded, nesting included), an
agent's linked account in that tool (Slack user id, GitHub login, ClickUp user), an agent id or an
agent name. Without any, the default agents of the event's project (found through the project
mappings of its repo, channel or list), then the tenant's. Paused and offline agents are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from temporalio.exceptions import ApplicationError

from infra.directory.aliases import expand_alias
from infra.directory.routing import RoutingView, load_routing_view
from infra.gateway.base import Intent
from infra.gateway.service import tool
from infra.gateway.store import grants_of
from workflows.contracts import AgentTarget, ResolveOutput, StandardEvent
from workflows.errors import ErrorType


def _explicit_targets(view: RoutingView, names: list[str]) -> list[str]:
    by_name = {row.name.lower(): agent_id for agent_id, row in view.agents.items()}
    alias_keys = {a.lower() for a in view.aliases}
    found: list[str] = []
    for name in names:
        if name.lower() in alias_keys:
            candidates = expand_alias(view.aliases, name)
        elif name in view.links:
            candidates = [view.links[name]]
        elif name in view.agents:
            candidates = [name]
        elif name.lower() in by_name:
            candidates = [by_name[name.lower()]]
        else:
            continue
        found.extend(c for c in candidates if c not in found)
    return found


def choose_agents(view: RoutingView, mentions: list[str], assignees: list[str]) -> ResolveOutput:
    """Pick the agents for an event from the tenant's routing data."""
    project_id = view.project_ids[0] if view.project_ids else None
    explicit = _explicit_targets(view, mentions + assignees)
    if explicit:
        chosen, why = explicit, "mentioned or assigned"
    elif view.project_defaults:
        chosen, why = view.project_defaults, f"defaults of project {', '.join(view.project_ids)}"
    else:
        chosen, why = view.tenant_defaults, "tenant defaults"
    if not chosen:
        return ResolveOutput(agents=[], project_id=project_id,
                             reason="no agent is mentioned, assigned or a default")
    routable = [a for a in chosen if a in view.agents and view.agents[a].status == "active"]
    dropped = [a for a in chosen if a not in routable]
    if dropped:
        why += f"; left out (unknown, paused or offline): {', '.join(dropped)}"
    targets = [
        AgentTarget(agent_id=a, name=view.agents[a].name, role=view.agents[a].role,
                    max_turns=view.agents[a].max_turns,
                    queue_expiry_seconds=view.agents[a].queue_expiry_seconds)
        for a in routable
    ]
    return ResolveOutput(agents=targets, project_id=project_id, reason=why)


class Resolver:
    """Resolves an event's agents; each chosen agent also gets the gateway intents it is granted."""

    def __init__(self, pool: asyncpg.Pool, intents: Mapping[str, Intent[Any]],
                 gateway_queue: str) -> None:
        self._pool = pool
        self._intents = intents
        self._gateway_queue = gateway_queue

    async def resolve(self, event: StandardEvent) -> ResolveOutput:
        """Resolve the agents an event is meant for."""
        hints = [(h.provider.value, h.external_id) for h in event.project_hints]
        view = await load_routing_view(
            self._pool, event.tenant_id, event.provider.value,
            event.mentions + event.assignees, hints,
        )
        if view is None:
            raise ApplicationError(
                f"tenant {event.tenant_id!r} no longer exists", type=ErrorType.UNKNOWN_DELIVERY,
                non_retryable=True,
            )
        chosen = choose_agents(view, event.mentions, event.assignees)
        held = await grants_of(self._pool, event.tenant_id, [a.agent_id for a in chosen.agents])
        for target in chosen.agents:
            granted = sorted(held[target.agent_id])
            target.gateway_tools = [tool(self._intents[n]) for n in granted if n in self._intents]
        chosen.gateway_queue = self._gateway_queue
        return chosen
