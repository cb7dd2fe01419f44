-- Agents: profiles, identity links, usage (the economy) and alerts.

ALTER TABLE agents
    ADD COLUMN avatar_url text,
    ADD COLUMN owner text,
    ADD COLUMN queue_expiry_seconds integer NOT NULL DEFAULT 86400
        CHECK (queue_expiry_seconds BETWEEN 1 AND 2592000);

-- An agent's account in a work tool (Slack user id, GitHub login, ClickUp user id): a mention or
-- an assignment of that account routes to the agent.
CREATE TABLE identity_links (
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider     text NOT NULL CHECK (provider IN ('github', 'slack', 'clickup')),
    external_id  text NOT NULL,
    agent_id     text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, provider, external_id)
);
CREATE INDEX identity_links_agent ON identity_links (agent_id);

-- One row per think: LLM tokens, tool calls asked, duration. Unique per step so a retried
-- activity records once.
CREATE TABLE usage (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id       text NOT NULL,
    run_id         text NOT NULL,
    turn           integer NOT NULL,
    model          text NOT NULL,
    input_tokens   integer NOT NULL DEFAULT 0,
    output_tokens  integer NOT NULL DEFAULT 0,
    tool_calls     integer NOT NULL DEFAULT 0,
    duration_ms    integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, turn)
);
CREATE INDEX usage_tenant_agent ON usage (tenant_id, agent_id);

CREATE TABLE alerts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        text NOT NULL,
    subject     text NOT NULL,
    detail      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, kind, subject)
);
