-- The tool gateway (grants, idempotent calls, audit) and agent OAuth2 clients and tokens.

-- Default deny: an agent may run an intent on a resource only if a grant's pattern matches.
CREATE TABLE grants (
    tenant_id         text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id          text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    intent            text NOT NULL,
    resource_pattern  text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, intent, resource_pattern)
);

-- One row per idempotency key: a retried or repeated call gets the first result.
CREATE TABLE gateway_calls (
    tenant_id        text NOT NULL,
    agent_id         text NOT NULL,
    idempotency_key  text NOT NULL,
    intent           text NOT NULL,
    resource         text NOT NULL,
    state            text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    result           jsonb,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    PRIMARY KEY (tenant_id, agent_id, idempotency_key)
);

CREATE TABLE audit (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        text NOT NULL,
    agent_id         text NOT NULL,
    intent           text NOT NULL,
    resource         text,
    decision         text NOT NULL CHECK (decision IN ('allowed', 'denied')),
    outcome          text NOT NULL CHECK (outcome IN ('ok', 'error', 'replayed', 'refused')),
    detail           text,
    duration_ms      integer NOT NULL DEFAULT 0,
    idempotency_key  text,
    source           text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_tenant_time ON audit (tenant_id, id DESC);

-- OAuth2 client credentials of agents (the secret is stored only as a hash).
ALTER TABLE agents
    ADD COLUMN client_secret_hash text,
    ADD COLUMN tokens_valid_after timestamptz NOT NULL DEFAULT '-infinity';

-- Token signing keys, private half sealed under the master key, shared by every API process.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    private_enc  bytea NOT NULL,
    public_jwk   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE revoked_tokens (
    jti         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
