-- Undo 0022_approvals: the requests, and the grants' approval rules.
DROP TABLE IF EXISTS approvals;
ALTER TABLE grants DROP COLUMN IF EXISTS approval;
