-- Gateway credentials for the embedded vault backend: one AES-GCM sealed value per tenant and
-- name (associated data "secret/<tenant>/<name>", so a value moved to another row does not open).

CREATE TABLE secrets (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    value_enc   bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
