-- Event replay (issue #13): a replay is a new inbox row carrying the stored delivery again.
-- replay_of names the row it replays; replay_key is the idempotency key of the request that
-- made it (the client's Idempotency-Key, or a fresh one), so a retried request finds what it
-- replayed instead of replaying again. The dedup key of a replay is
-- 'replay:<replayed id>:<replay_key>', so one request replays one row at most once.
ALTER TABLE inbox ADD COLUMN replay_of bigint REFERENCES inbox(id) ON DELETE SET NULL;
ALTER TABLE inbox ADD COLUMN replay_key text;
-- An event's replays (its view lists them) and a request's replays (a retry looks them up).
CREATE INDEX inbox_replay_of ON inbox (replay_of) WHERE replay_of IS NOT NULL;
CREATE INDEX inbox_replay_key ON inbox (tenant_id, replay_key) WHERE replay_key IS NOT NULL;
