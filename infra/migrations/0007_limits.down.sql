-- Undo 0007: the circuit breaker's log and per-tenant limits.
DROP TABLE breaker_log;
DROP TABLE tenant_limits;
