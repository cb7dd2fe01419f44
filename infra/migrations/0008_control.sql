-- The kill switch's state, written by the switchboard-control workflow and read by every API
-- process and gateway worker (NOTIFY switchboard_control tells them it changed).
CREATE TABLE control_state (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    stopped     boolean NOT NULL DEFAULT false,
    reason      text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO control_state DEFAULT VALUES;

-- Where a tenant's admins hear about offline and stuck agents (a Slack channel id).
ALTER TABLE tenants ADD COLUMN admin_channel text;
