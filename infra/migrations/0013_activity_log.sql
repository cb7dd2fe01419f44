-- Who did what (issue #12 item 4): admin writes, logins, refusals, token issue and revocation,
-- kill-switch use. The gateway's own calls stay in `audit`; GET /admin/tenants/{t}/audit shows
-- both. No foreign key: the record outlives the tenant or agent it speaks of.
CREATE TABLE activity_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    tenant_id  text,                  -- NULL: a global action (kill switch, tenant creation)
    actor      text NOT NULL,         -- bootstrap-admin, a user's email, agent:<tenant>/<agent>
    role       text,
    agent_id   text,                  -- the acting agent, when an agent acted
    action     text NOT NULL,         -- tenant.update, agent.pause, oauth.token, ...
    target     text,
    outcome    text NOT NULL,         -- ok, refused:<status>, error:<status>
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_log_tenant ON activity_log (tenant_id, id DESC);
