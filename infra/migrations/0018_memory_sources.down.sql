-- Undo 0018: memory back to Slack threads only. GitHub and ClickUp thread messages and their
-- thread documents are deleted (the old schema cannot hold them); Slack rows keep their keys.
DELETE FROM context_documents WHERE source IN ('github_thread', 'clickup_thread');
ALTER TABLE context_documents DROP CONSTRAINT context_documents_source_check;
ALTER TABLE context_documents ADD CONSTRAINT context_documents_source_check CHECK (source IN
    ('slack_thread', 'readme', 'summary', 'clickup_task', 'document'));

DELETE FROM thread_messages WHERE provider <> 'slack';
DROP INDEX thread_messages_item;
DROP INDEX thread_messages_thread;
ALTER TABLE thread_messages DROP CONSTRAINT thread_messages_pkey;
ALTER TABLE thread_messages DROP COLUMN author_kind;
ALTER TABLE thread_messages DROP COLUMN provider;
ALTER TABLE thread_messages RENAME COLUMN message_id TO ts;
ALTER TABLE thread_messages RENAME COLUMN item TO thread_ts;
ALTER TABLE thread_messages RENAME COLUMN container TO channel;
ALTER TABLE thread_messages ADD PRIMARY KEY (tenant_id, channel, ts);
CREATE INDEX thread_messages_thread ON thread_messages (tenant_id, channel, thread_ts);
