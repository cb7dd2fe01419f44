-- Sessions (issue #14 parts 1-3): one per (tenant, agent, thread), a long-lived SessionWorkflow
-- fed by every event dispatched to that agent on that thread. Its turns are recorded here for
-- the admin API (the workflow is the truth; these rows are its readable copy).
-- Only infra/sessions/store.py writes these tables.
CREATE TABLE sessions (
    id           text PRIMARY KEY,           -- "ses_" + 16 hex chars
    tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    agent_id     text NOT NULL,
    thread       text NOT NULL,              -- "<provider>:<container>:<item>"
    workflow_id  text NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'waiting', 'paused', 'closed',
                                                 'failed')),
    turns        integer NOT NULL DEFAULT 0,
    summary      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz
);
CREATE INDEX sessions_agent_status ON sessions (tenant_id, agent_id, status);
CREATE INDEX sessions_thread ON sessions (tenant_id, thread);

CREATE TABLE session_turns (
    session_id   text NOT NULL REFERENCES sessions ON DELETE CASCADE,
    turn         integer NOT NULL,
    messages     jsonb NOT NULL,
    answer       text,
    tool_calls   jsonb NOT NULL DEFAULT '[]',
    status       text NOT NULL,              -- running | done | failed | interrupted
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (session_id, turn)
);

-- Per agent: what a message arriving mid-turn does, the debounce window that folds a burst into
-- one turn (with the longest a burst may hold a turn back), and the idle time that closes it.
ALTER TABLE agents
    ADD COLUMN sessions boolean NOT NULL DEFAULT true,  -- false: every event a fresh run
    ADD COLUMN session_policy text NOT NULL DEFAULT 'enqueue'
        CHECK (session_policy IN ('enqueue', 'interrupt', 'reject')),
    ADD COLUMN session_debounce_ms integer NOT NULL DEFAULT 2000
        CHECK (session_debounce_ms BETWEEN 0 AND 600000),
    ADD COLUMN session_max_wait_ms integer NOT NULL DEFAULT 10000
        CHECK (session_max_wait_ms BETWEEN 0 AND 3600000),
    ADD COLUMN session_idle_seconds integer NOT NULL DEFAULT 604800
        CHECK (session_idle_seconds BETWEEN 1 AND 31536000);
