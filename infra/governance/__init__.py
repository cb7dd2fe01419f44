"""Governance: the circuit breaker on agents' messages and projects' sync events."""

from infra.governance.limits import CircuitBreaker
from infra.governance.stuck import AGENTS_CHANNEL, StuckAgents, parse_close, stuck_since
from infra.governance.tenant_limits import DEFAULTS, Limits, UnknownTenant
from infra.governance.verdict import Verdict, message_hash

__all__ = [
    "AGENTS_CHANNEL",
    "DEFAULTS",
    "CircuitBreaker",
    "Limits",
    "StuckAgents",
    "UnknownTenant",
    "Verdict",
    "message_hash",
    "parse_close",
    "stuck_since",
]
