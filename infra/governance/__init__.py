"""Governance: the circuit breaker on agents' messages and projects' sync events."""

from infra.governance.limits import CircuitBreaker
from infra.governance.tenant_limits import DEFAULTS, Limits, UnknownTenant
from infra.governance.verdict import Verdict, message_hash

__all__ = ["DEFAULTS", "CircuitBreaker", "Limits", "UnknownTenant", "Verdict", "message_hash"]
