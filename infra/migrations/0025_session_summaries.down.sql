-- Undo 0025_session_summaries.sql: sessions leave an episode only when they close.
ALTER TABLE agents DROP COLUMN session_summary_every;
