-- Human approval for risky intents (issue #15 item 3).

-- A grant may require a person's decision first: {"approvers": [Slack user ids], "approver_group":
-- Slack user group id, "timeout_seconds": n, "channel": Slack channel id}. NULL: no approval.
ALTER TABLE grants ADD COLUMN approval jsonb;

-- One request per held call (its idempotency key), bound to the hash of its exact arguments.
CREATE TABLE approvals (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id         text NOT NULL,
    request_key      text NOT NULL,          -- the held call's idempotency key
    workflow_id      text NOT NULL,          -- the run waiting on it (signalled on a decision)
    intent           text NOT NULL,
    resource         text NOT NULL,
    arguments        jsonb NOT NULL,
    args_hash        text NOT NULL,          -- sha256 of {"intent", "arguments"}, canonical JSON
    approvers        text[] NOT NULL DEFAULT '{}',  -- Slack user ids (the group's, expanded)
    approver_group   text,
    channel          text,
    message_ts       text,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
    decided_by       text,
    decided_via      text CHECK (decided_via IN ('slack', 'api', 'timeout')),
    reason           text,
    timeout_seconds  integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    posted_at        timestamptz,
    decided_at       timestamptz,
    applied_at       timestamptz,
    UNIQUE (tenant_id, agent_id, request_key)
);
CREATE INDEX approvals_tenant ON approvals (tenant_id, created_at DESC);
