-- Agent memory (issue #14 part 4): per agent and tenant, core facts (key -> value, written by the
-- agent through the gateway's memory_remember intent or by an admin) and episodic summaries
-- (written by the platform when a session closes, and every N turns of a long one).
-- Only infra/memory/store.py writes this table.
--
-- The embedding is the context engine's (same embedder, vector(384): see 0006_context.sql for
-- another dimension). Episodic rows may be written without one (the session helper has no
-- embedder at hand): the next recall for that agent embeds them. Core facts are never searched
-- by similarity (they always come first), so they carry none.
CREATE TABLE agent_memory (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    agent_id    text NOT NULL,
    type        text NOT NULL CHECK (type IN ('core', 'episodic')),
    key         text,
    value       text NOT NULL,
    tokens      integer NOT NULL,           -- tiktoken cl100k_base tokens of what the prompt shows
    session_id  text,
    embedding   vector(384),
    written_by  text NOT NULL,              -- 'agent', 'admin:<who>' or 'platform'
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'core') = (key IS NOT NULL)),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
-- One value per key and agent; listing and recall read an agent's rows of one type.
CREATE UNIQUE INDEX agent_memory_core_key ON agent_memory (tenant_id, agent_id, key)
    WHERE type = 'core';
CREATE INDEX agent_memory_agent ON agent_memory (tenant_id, agent_id, type, created_at);
