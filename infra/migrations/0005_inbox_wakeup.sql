-- A NOTIFY inside the inbox insert takes PostgreSQL's global notify lock until the commit is
-- flushed, so concurrent webhook commits queued behind one another. The API now wakes its own
-- relay in memory and sends one coalesced NOTIFY for the other processes after the commit.
DROP TRIGGER inbox_notify ON inbox;
DROP FUNCTION inbox_notify();
