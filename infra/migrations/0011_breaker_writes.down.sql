-- Undo 0011: per-intent write limits and the intent of each counted write.
ALTER TABLE tenant_limits DROP COLUMN intents;
ALTER TABLE breaker_log DROP COLUMN intent;
