-- The circuit breaker: per-tenant limits and the sliding-window log of what it let through.

-- A tenant's own limits; without a row the defaults in infra/governance/tenant_limits.py apply.
CREATE TABLE tenant_limits (
    tenant_id                 text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    messages_per_minute       integer NOT NULL CHECK (messages_per_minute BETWEEN 1 AND 10000),
    sync_events_per_hour      integer NOT NULL CHECK (sync_events_per_hour BETWEEN 1 AND 1000000),
    duplicate_window_seconds  integer NOT NULL CHECK (duplicate_window_seconds BETWEEN 1 AND 3600),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

-- One row per allowed outgoing message (subject = the agent) or sync event (subject = the
-- project). Refused ones are never written. Each check prunes its own subject's rows older than
-- the longest window, under the per-subject advisory lock that serialises count + insert.
CREATE TABLE breaker_log (
    tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('message', 'sync')),
    subject          text NOT NULL,
    at               timestamptz NOT NULL,
    message_hash     bytea,
    idempotency_key  text
);
CREATE INDEX breaker_log_window ON breaker_log (tenant_id, kind, subject, at);
