-- Tenants get API quotas by plan (issue #12 item 5).

-- A tenant's plan and its own requests-a-minute quota (NULL: the plan's); without a row the
-- tenant is on `free`. Plans and their defaults are in infra/governance/quotas.py.
CREATE TABLE tenant_quotas (
    tenant_id            text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    plan                 text NOT NULL CHECK (plan IN ('free', 'pro', 'power', 'team')),
    requests_per_minute  integer CHECK (requests_per_minute BETWEEN 1 AND 1000000),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Requests per tenant per fixed one-minute window: one UPSERT per request, from any API process;
-- each one deletes the tenant's windows before the current one.
CREATE TABLE quota_windows (
    tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    window_start  timestamptz NOT NULL,
    requests      integer NOT NULL,
    PRIMARY KEY (tenant_id, window_start)
);
