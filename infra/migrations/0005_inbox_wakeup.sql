-- A NOTIFY inside the inbox insert takes PostgreSQL's global notify lock until the commit is
-- flushed, so concurrent webhook commits queued behind one another. The API now wakes its own
-- relay in memory and sends one coalesced NOTIFY for the other processes after the commit.
DROP TRIGGER inbox_notify ON inbox;
DROP FUNCTION inbox_notify();

-- The admin event list filters by tenant and pages by id: index exactly that.
DROP INDEX inbox_tenant_time;
CREATE INDEX inbox_tenant_id ON inbox (tenant_id, id DESC);
