-- Undo 0024: no retention windows or prune indexes. Pruned inbox rows cannot take NOT NULL
-- back without a body: they get an empty one.
DROP INDEX revoked_tokens_expiry;
DROP INDEX thread_messages_time;
DROP INDEX alerts_tenant_time;
DROP INDEX usage_tenant_time;
DROP INDEX inbox_pruned;
UPDATE inbox SET body = '' WHERE body IS NULL;
ALTER TABLE inbox ALTER COLUMN body SET NOT NULL;
ALTER TABLE tenants DROP COLUMN retention;
