-- Foundation: tenants, integrations, agents, aliases, projects, the inbox and events.

CREATE TABLE tenants (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name            text NOT NULL,
    default_agents  text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A provider's webhook signing secret per tenant, AES-GCM encrypted under the master key.
CREATE TABLE integrations (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider    text NOT NULL CHECK (provider IN ('github', 'slack', 'clickup')),
    secret_enc  bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, provider)
);

CREATE TABLE agents (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL,
    role        text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'offline')),
    max_turns   integer NOT NULL DEFAULT 8 CHECK (max_turns BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_tenant ON agents (tenant_id);

-- A tag such as AI_Squad naming agents and, nested, other aliases ('@Other').
CREATE TABLE aliases (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL,
    members     text[] NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE UNIQUE INDEX aliases_name_ci ON aliases (tenant_id, lower(name));

CREATE TABLE projects (
    tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id              text NOT NULL,
    name            text NOT NULL,
    default_agents  text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);

-- ClickUp list <-> Slack channel <-> GitHub repo: each external id belongs to one project.
CREATE TABLE project_mappings (
    tenant_id    text NOT NULL,
    project_id   text NOT NULL,
    provider     text NOT NULL CHECK (provider IN ('github', 'slack', 'clickup')),
    external_id  text NOT NULL,
    PRIMARY KEY (tenant_id, provider, external_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id) ON DELETE CASCADE
);

-- The durable inbox: a delivery is committed here before the webhook is answered.
CREATE TABLE inbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider     text NOT NULL,
    dedup_key    text NOT NULL,
    event_name   text,
    body         bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at   timestamptz,
    UNIQUE (tenant_id, provider, dedup_key)
);
CREATE INDEX inbox_pending ON inbox (id) WHERE relayed_at IS NULL;
CREATE INDEX inbox_tenant_time ON inbox (tenant_id, received_at DESC);

CREATE FUNCTION inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_inbox', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_notify();

-- What the pipeline made of an inbox row; absent until the workflow first records it.
CREATE TABLE events (
    inbox_id     bigint PRIMARY KEY REFERENCES inbox(id) ON DELETE CASCADE,
    tenant_id    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('received', 'dispatched', 'ignored', 'failed')),
    kind         text,
    reason       text,
    event        jsonb,
    agent_ids    text[] NOT NULL DEFAULT '{}',
    outcomes     jsonb NOT NULL DEFAULT '[]',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant_status ON events (tenant_id, status);
