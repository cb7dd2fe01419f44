-- The circuit breaker counts every write, not only messages (issue #12 item 6).

-- Which intent each counted write was (NULL for sync events and older rows): a tenant may hold
-- an intent to fewer writes a minute than the general rate.
ALTER TABLE breaker_log ADD COLUMN intent text;
ALTER TABLE tenant_limits ADD COLUMN intents jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(intents) = 'object');
