-- Undo 0014: human users, roles and their sessions.
DROP TABLE refresh_tokens;
DROP TABLE user_sessions;
DROP TABLE tenant_members;
DROP TABLE users;
