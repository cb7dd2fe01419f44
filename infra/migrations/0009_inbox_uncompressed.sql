-- Inbox bodies are stored out of line but not compressed: pglz took ~40% of PostgreSQL's CPU
-- per delivery on the acknowledgement path (62 us instead of ~100 us per row in a batch). The
-- price is disk: a 13.5 KB GitHub body takes 13.5 KB instead of ~3.4 KB.
ALTER TABLE inbox ALTER COLUMN body SET STORAGE EXTERNAL;
