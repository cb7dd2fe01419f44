-- Undo 0002: alerts, usage, identity links and the agent profile columns.
DROP TABLE alerts;
DROP TABLE usage;
DROP TABLE identity_links;
ALTER TABLE agents
    DROP COLUMN avatar_url,
    DROP COLUMN owner,
    DROP COLUMN queue_expiry_seconds;
