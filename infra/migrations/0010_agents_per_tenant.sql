-- Agents are keyed by (tenant, id): two tenants may each have an agent `coder`, and neither can
-- learn that the other's exists. Every table that references an agent does so with its tenant.

-- A link or grant of tenant A naming tenant B's agent was possible under the global key; it
-- would break the composite key below and never routed or authorised anything in A: dropped.
DELETE FROM identity_links l USING agents a
    WHERE a.id = l.agent_id AND a.tenant_id <> l.tenant_id;
DELETE FROM grants g USING agents a
    WHERE a.id = g.agent_id AND a.tenant_id <> g.tenant_id;

ALTER TABLE identity_links DROP CONSTRAINT identity_links_agent_id_fkey;
ALTER TABLE grants DROP CONSTRAINT grants_agent_id_fkey;

ALTER TABLE agents DROP CONSTRAINT agents_pkey;
ALTER TABLE agents ADD PRIMARY KEY (tenant_id, id);
DROP INDEX agents_tenant;  -- the primary key's leading column serves it

ALTER TABLE identity_links ADD CONSTRAINT identity_links_agent_fkey
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE;
DROP INDEX identity_links_agent;
CREATE INDEX identity_links_agent ON identity_links (tenant_id, agent_id);

ALTER TABLE grants ADD CONSTRAINT grants_agent_fkey
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE;
