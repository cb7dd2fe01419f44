-- Undo 0010: agents keyed by id alone again. Fails (and changes nothing) while two tenants hold
-- an agent of the same id: rename or delete one first.
ALTER TABLE grants DROP CONSTRAINT grants_agent_fkey;
DROP INDEX identity_links_agent;
ALTER TABLE identity_links DROP CONSTRAINT identity_links_agent_fkey;

CREATE INDEX agents_tenant ON agents (tenant_id);
ALTER TABLE agents DROP CONSTRAINT agents_pkey;
ALTER TABLE agents ADD PRIMARY KEY (id);

CREATE INDEX identity_links_agent ON identity_links (agent_id);
ALTER TABLE identity_links ADD CONSTRAINT identity_links_agent_id_fkey
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE;
ALTER TABLE grants ADD CONSTRAINT grants_agent_id_fkey
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE;
