-- The kill switch's version: one more on every change, written in the change's transaction by
-- infra/governance/kill_switch.apply (the one writer, called by the API, the CLI and the control
-- workflow). The control workflow shows the state with the highest version it has seen, so an
-- apply recorded late (a signal that waited behind a busy Temporal) never hides a newer one.
ALTER TABLE control_state ADD COLUMN version bigint NOT NULL DEFAULT 0;
