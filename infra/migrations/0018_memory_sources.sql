-- Memory fed from every source (issue #13 part 4). A thread is (tenant, provider, container,
-- item): a Slack channel and thread ts, a GitHub repo and issue/PR number, a ClickUp list and task
-- id. A message is named by its provider's id within the container (Slack ts, GitHub comment id
-- or 'issue-<number>' for the body, ClickUp comment id). The agents' own messages are marked.
-- Existing rows are Slack messages: they keep their keys, renamed.

ALTER TABLE thread_messages RENAME COLUMN channel TO container;
ALTER TABLE thread_messages RENAME COLUMN thread_ts TO item;
ALTER TABLE thread_messages RENAME COLUMN ts TO message_id;
ALTER TABLE thread_messages ADD COLUMN provider text NOT NULL DEFAULT 'slack'
    CHECK (provider IN ('slack', 'github', 'clickup'));
ALTER TABLE thread_messages ALTER COLUMN provider DROP DEFAULT;
-- 'agent': written by one of the tenant's agents through the gateway (user_id is the agent id)
ALTER TABLE thread_messages ADD COLUMN author_kind text NOT NULL DEFAULT 'human'
    CHECK (author_kind IN ('human', 'agent'));

ALTER TABLE thread_messages DROP CONSTRAINT thread_messages_pkey;
ALTER TABLE thread_messages ADD PRIMARY KEY (tenant_id, provider, container, message_id);
DROP INDEX thread_messages_thread;
CREATE INDEX thread_messages_thread ON thread_messages (tenant_id, provider, container, item);
-- an agent's ClickUp comment names only its task: its list is found from the thread's messages
CREATE INDEX thread_messages_item ON thread_messages (tenant_id, provider, item);

-- GitHub issue/PR and ClickUp task threads are documents of their own sources.
ALTER TABLE context_documents DROP CONSTRAINT context_documents_source_check;
ALTER TABLE context_documents ADD CONSTRAINT context_documents_source_check CHECK (source IN
    ('slack_thread', 'github_thread', 'clickup_thread', 'readme', 'summary', 'clickup_task',
     'document'));
