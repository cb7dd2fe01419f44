-- Undo 0008: the kill switch's state row and the tenants' admin channel.
ALTER TABLE tenants DROP COLUMN admin_channel;
DROP TABLE control_state;
