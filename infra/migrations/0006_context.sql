-- The context engine's knowledge store: documents (Slack threads, READMEs, ClickUp tasks, thread
-- summaries), their chunks with embeddings (pgvector), and the Slack messages threads are built from.
--
-- The embedding column is vector(384): the dimension of the default offline embedder
-- (all-MiniLM-L6-v2) and of OpenAI's text-embedding-3-* asked for `dimensions = 384`. Another
-- dimension needs a migration: ALTER TABLE context_chunks ALTER COLUMN embedding TYPE vector(N)
-- after deleting the chunks (vectors of one model are meaningless to another), recreate the HNSW
-- index, and re-ingest (set context_documents.embedding_model to '' so every document re-embeds).
-- KnowledgeStore refuses to start when the embedder's dimension differs from this column's.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE context_documents (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id                 text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project_id                text,
    source                    text NOT NULL CHECK (source IN
                                ('slack_thread', 'readme', 'summary', 'clickup_task', 'document')),
    -- e.g. 'C024BE91L:1700000000.000100' for a thread, 'acme/frontend' for a README
    source_key                text NOT NULL,
    title                     text NOT NULL,
    url                       text,
    body                      text NOT NULL,
    -- sha256 of the body: an unchanged document is not re-chunked or re-embedded
    body_sha256               bytea NOT NULL,
    embedding_model           text NOT NULL,
    tokens                    integer NOT NULL DEFAULT 0,
    message_count             integer NOT NULL DEFAULT 0,   -- threads: messages in the body
    summarized_at             timestamptz,                  -- threads: when last summarized
    summarized_message_count  integer NOT NULL DEFAULT 0,   -- threads: messages that summary saw
    summary_of                bigint REFERENCES context_documents(id) ON DELETE SET NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, source, source_key)
);
CREATE INDEX context_documents_project ON context_documents (tenant_id, project_id, source);
-- threads_to_summarize: only the threads that grew since their last summary are in this index
CREATE INDEX context_documents_unsummarized ON context_documents (message_count)
    WHERE source = 'slack_thread' AND message_count > summarized_message_count;

-- tenant_id, project_id and source are copies of the document's, so that the tenant filter (always
-- applied) and the optional project/source filters need no join during the vector search.
CREATE TABLE context_chunks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  bigint NOT NULL REFERENCES context_documents(id) ON DELETE CASCADE,
    tenant_id    text NOT NULL,
    project_id   text,
    source       text NOT NULL,
    ordinal      integer NOT NULL,
    text         text NOT NULL,
    tokens       integer NOT NULL,          -- tiktoken cl100k_base tokens of text
    embedding    vector(384) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, ordinal)
);
-- Exact (filtered) search and per-tenant counts read this index; every query has tenant_id.
CREATE INDEX context_chunks_tenant ON context_chunks (tenant_id, project_id, source);
-- Approximate search over all tenants; the tenant predicate is applied to what it returns
-- (pgvector 0.6 has no iterative scan: see infra/context/search.py for how top-k stays right).
CREATE INDEX context_chunks_embedding ON context_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);

-- Chat messages as ingested (one row per message; an edit replaces its text), from which the
-- thread documents are assembled.
CREATE TABLE thread_messages (
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel      text NOT NULL,
    ts           text NOT NULL,
    thread_ts    text NOT NULL,
    project_id   text,
    user_id      text NOT NULL DEFAULT '',
    text         text NOT NULL,
    url          text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel, ts)
);
CREATE INDEX thread_messages_thread ON thread_messages (tenant_id, channel, thread_ts);
