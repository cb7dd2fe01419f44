-- Undo 0012: API quotas (plans and request windows).
DROP TABLE quota_windows;
DROP TABLE tenant_quotas;
