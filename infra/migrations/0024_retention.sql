-- Retention (issue #16 item 7): a Temporal Schedule prunes what is past each tenant's windows.

-- A tenant's own windows in days by what they keep ('inbox', 'audit', 'usage', 'alerts',
-- 'threads'); a key left out takes the platform's default (SWITCHBOARD_RETENTION_*).
ALTER TABLE tenants ADD COLUMN retention jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(retention) = 'object');

-- A pruned delivery keeps its inbox row and its events row (status, kind, reason, agents,
-- outcomes: the tombstone) without its body or the normalized event.
ALTER TABLE inbox ALTER COLUMN body DROP NOT NULL;
-- Only pruned rows are in this index, so the webhook's insert never touches it; its newest id
-- per tenant is where the next pass starts walking inbox_tenant_id.
CREATE INDEX inbox_pruned ON inbox (tenant_id, id DESC) WHERE body IS NULL;

-- Deleted by age: usage, alerts and thread messages by their time column (audit and
-- activity_log walk their (tenant_id, id) indexes oldest first: ids grow with created_at).
CREATE INDEX usage_tenant_time ON usage (tenant_id, created_at);
CREATE INDEX alerts_tenant_time ON alerts (tenant_id, created_at);
CREATE INDEX thread_messages_time ON thread_messages (tenant_id, received_at);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
