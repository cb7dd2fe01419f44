-- Undo 0026_event_dispatched_at.sql: the dispatch latency is read from updated_at again.
ALTER TABLE events DROP COLUMN dispatched_at;
