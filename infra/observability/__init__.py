"""Operations: metrics (Prometheus), structured logs with ids, and the readiness checks."""
