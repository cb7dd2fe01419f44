"""What the resolver reads: a tenant's routable agents, aliases and project defaults."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class RoutingView:
    """Everything needed to route one event of one tenant, read in one round trip."""

    agents: dict[str, tuple[str, str, int]]  # id -> (name, status, max_turns)
    aliases: dict[str, list[str]]
    tenant_defaults: list[str]
    project_defaults: list[str]
    project_ids: list[str]


async def load_routing_view(
    pool: asyncpg.Pool, tenant_id: str, hints: list[tuple[str, str]]
) -> RoutingView | None:
    """The tenant's routing data; None if the tenant no longer exists."""
    providers = [p for p, _ in hints]
    external_ids = [e for _, e in hints]
    row = await pool.fetchrow(
        """
        SELECT t.default_agents,
          (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name,
                  'status', a.status, 'max_turns', a.max_turns)), '[]'::jsonb)
             FROM agents a WHERE a.tenant_id = t.id) AS agents,
          (SELECT COALESCE(jsonb_object_agg(al.name, al.members), '{}'::jsonb)
             FROM aliases al WHERE al.tenant_id = t.id) AS aliases,
          (SELECT COALESCE(array_agg(DISTINCT p.id), '{}') FROM project_mappings m
             JOIN projects p ON p.tenant_id = m.tenant_id AND p.id = m.project_id
             JOIN unnest($2::text[], $3::text[]) AS h(provider, external_id)
               ON h.provider = m.provider AND h.external_id = m.external_id
             WHERE m.tenant_id = t.id) AS project_ids,
          (SELECT COALESCE(array_agg(DISTINCT d), '{}') FROM project_mappings m
             JOIN projects p ON p.tenant_id = m.tenant_id AND p.id = m.project_id
             JOIN unnest($2::text[], $3::text[]) AS h(provider, external_id)
               ON h.provider = m.provider AND h.external_id = m.external_id
             CROSS JOIN unnest(p.default_agents) AS d
             WHERE m.tenant_id = t.id) AS project_defaults
        FROM tenants t WHERE t.id = $1
        """,
        tenant_id, providers, external_ids,
    )
    if row is None:
        return None
    return RoutingView(
        agents={a["id"]: (a["name"], a["status"], a["max_turns"]) for a in row["agents"]},
        aliases=dict(row["aliases"]),
        tenant_defaults=list(row["default_agents"]),
        project_defaults=sorted(row["project_defaults"]),
        project_ids=sorted(row["project_ids"]),
    )
