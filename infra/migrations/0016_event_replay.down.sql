-- Undo 0016: replay links (replays stay as ordinary inbox rows).
DROP INDEX inbox_replay_key;
DROP INDEX inbox_replay_of;
ALTER TABLE inbox DROP COLUMN replay_key;
ALTER TABLE inbox DROP COLUMN replay_of;
