-- The ClickUp <-> Slack mirror (issue #15 part 5).
-- A project's ClickUp list and Slack channel that mirror each other (opt-in per pair, set with the
-- project through the admin API). Both must be mappings of the project; each list and each
-- channel mirrors at most one other.
CREATE TABLE mirror_pairs (
    tenant_id    text NOT NULL,
    project_id   text NOT NULL,
    list_id      text NOT NULL,
    channel      text NOT NULL,
    PRIMARY KEY (tenant_id, list_id),
    UNIQUE (tenant_id, channel),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects(tenant_id, id) ON DELETE CASCADE
);

-- The id map, threads: the Slack thread a mirrored ClickUp task opened (thread_ts NULL while the
-- write under key posts its root).
CREATE TABLE mirror_threads (
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    task_id      text NOT NULL,
    list_id      text NOT NULL,
    channel      text NOT NULL,
    thread_ts    text,
    key          text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, task_id),
    UNIQUE (tenant_id, channel, thread_ts)
);

-- The id map, messages: every comment or reply the mirror has carried across or written itself,
-- by provider and id, so that its own writes coming back as webhooks are not mirrored again. A
-- write in flight has no id yet (external_id NULL): its echo is recognised by its thread and text.
CREATE TABLE mirror_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider     text NOT NULL CHECK (provider IN ('slack', 'clickup')),
    thread       text NOT NULL,
    external_id  text,
    write_key    text,
    text_hash    bytea,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mirror_messages_id ON mirror_messages (tenant_id, provider, external_id);
CREATE UNIQUE INDEX mirror_messages_write ON mirror_messages (tenant_id, write_key);
CREATE INDEX mirror_messages_in_flight ON mirror_messages (tenant_id, provider, thread, text_hash)
    WHERE external_id IS NULL;
