-- Undo 0009: inbox bodies compressed again (bytea's default storage). Rows already stored keep
-- their form until rewritten.
ALTER TABLE inbox ALTER COLUMN body SET STORAGE EXTENDED;
