-- Undo 0005: the per-row NOTIFY trigger and the (tenant, received_at) index come back.
DROP INDEX inbox_tenant_id;
CREATE INDEX inbox_tenant_time ON inbox (tenant_id, received_at DESC);

CREATE FUNCTION inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_inbox', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_notify();
