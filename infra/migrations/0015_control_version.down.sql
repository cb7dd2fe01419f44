-- Undo 0015: the kill switch's version.
ALTER TABLE control_state DROP COLUMN version;
