"""What the resolver reads: a tenant's agents, aliases, identity links and project defaults."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class AgentRow:
    """An agent as routing sees it."""

    name: str
    role: str
    status: str
    max_turns: int
    queue_expiry_seconds: int


@dataclass(frozen=True)
class RoutingView:
    """Everything needed to route one event of one tenant, read in one round trip."""

    agents: dict[str, AgentRow]
    aliases: dict[str, list[str]]
    links: dict[str, str]  # external id (of the event's provider) -> agent id
    tenant_defaults: list[str]
    project_defaults: list[str]
    project_ids: list[str]


_QUERY = """
WITH hints AS (SELECT * FROM unnest($2::text[], $3::text[]) AS h(provider, external_id)),
     projects_hit AS (
        SELECT DISTINCT p.id, p.default_agents FROM project_mappings m
        JOIN hints h ON h.provider = m.provider AND h.external_id = m.external_id
        JOIN projects p ON p.tenant_id = m.tenant_id AND p.id = m.project_id
        WHERE m.tenant_id = $1)
SELECT t.default_agents,
  (SELECT COALESCE(jsonb_object_agg(a.id, jsonb_build_object(
          'name', a.name, 'role', a.role, 'status', a.status, 'max_turns', a.max_turns,
          'queue_expiry_seconds', a.queue_expiry_seconds)), '{}'::jsonb)
     FROM agents a WHERE a.tenant_id = t.id) AS agents,
  (SELECT COALESCE(jsonb_object_agg(al.name, al.members), '{}'::jsonb)
     FROM aliases al WHERE al.tenant_id = t.id) AS aliases,
  (SELECT COALESCE(jsonb_object_agg(l.external_id, l.agent_id), '{}'::jsonb)
     FROM identity_links l
     WHERE l.tenant_id = t.id AND l.provider = $4 AND l.external_id = ANY($5::text[])) AS links,
  (SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM projects_hit) AS project_ids,
  (SELECT COALESCE(array_agg(DISTINCT d), '{}') FROM projects_hit
     CROSS JOIN unnest(projects_hit.default_agents) AS d) AS project_defaults
FROM tenants t WHERE t.id = $1
"""


async def load_routing_view(
    pool: asyncpg.Pool, tenant_id: str, provider: str, names: list[str],
    hints: list[tuple[str, str]],
) -> RoutingView | None:
    """The tenant's routing data for an event; None if the tenant no longer exists."""
    row = await pool.fetchrow(
        _QUERY, tenant_id, [p for p, _ in hints], [e for _, e in hints], provider, names
    )
    if row is None:
        return None
    return RoutingView(
        agents={agent_id: AgentRow(**fields) for agent_id, fields in row["agents"].items()},
        aliases=dict(row["aliases"]),
        links=dict(row["links"]),
        tenant_defaults=list(row["default_agents"]),
        project_defaults=sorted(row["project_defaults"]),
        project_ids=list(row["project_ids"]),
    )
