-- Human users, their roles per tenant, and their sessions (issue #12 item 3).

-- A local account (password_hash: scrypt, infra/users/passwords.py) or an invitation still
-- waiting for its password (invitation_hash: SHA-256 of the one-time invitation token).
CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    password_hash       text,
    invitation_hash     text,
    invitation_expires  timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- A user's one role on a tenant.
CREATE TABLE tenant_members (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user ON tenant_members (user_id);

-- A login: the family of its refresh tokens. Revoked by logout or by a refresh token used twice;
-- its access tokens (which carry its id) die with it.
CREATE TABLE user_sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoked_why text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Refresh tokens, each usable once (rotation); only their SHA-256 is kept.
CREATE TABLE refresh_tokens (
    token_hash  text PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
