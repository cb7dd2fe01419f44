-- When an event was handed to its agents (issue #17): the dispatch-latency metric reads it
-- (infra/observability/figures.py). updated_at moves with every agent's outcome written later,
-- so it measured received -> last answer. Rows dispatched before this keep their updated_at.
ALTER TABLE events ADD COLUMN dispatched_at timestamptz;
UPDATE events SET dispatched_at = updated_at WHERE status = 'dispatched';
