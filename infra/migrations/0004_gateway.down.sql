-- Undo 0004: the gateway's tables and the agents' OAuth2 columns.
DROP TABLE revoked_tokens;
DROP TABLE signing_keys;
ALTER TABLE agents
    DROP COLUMN client_secret_hash,
    DROP COLUMN tokens_valid_after;
DROP TABLE audit;
DROP TABLE gateway_calls;
DROP TABLE grants;
