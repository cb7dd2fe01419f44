-- Undo 0006: the knowledge store and the ingested chat messages, then pgvector itself (nothing
-- earlier uses it; a database that had the extension before 0006 loses it too).
DROP TABLE thread_messages;
DROP TABLE context_chunks;
DROP TABLE context_documents;
DROP EXTENSION IF EXISTS vector;
