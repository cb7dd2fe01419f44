-- Undo 0020: sessions, their turns and the agents' session settings.
ALTER TABLE agents
    DROP COLUMN sessions,
    DROP COLUMN session_policy,
    DROP COLUMN session_debounce_ms,
    DROP COLUMN session_max_wait_ms,
    DROP COLUMN session_idle_seconds;
DROP TABLE session_turns;
DROP TABLE sessions;
