"""Governance: the circuit breaker on agents' writes and projects' sync events, API quotas."""

from infra.governance.limits import CircuitBreaker
from infra.governance.quotas import Quota, Quotas, QuotaVerdict
from infra.governance.stuck import AGENTS_CHANNEL, StuckAgents, parse_close, stuck_since
from infra.governance.tenant_limits import DEFAULTS, Limits, UnknownTenant
from infra.governance.verdict import Verdict, message_hash

__all__ = [
    "AGENTS_CHANNEL",
    "DEFAULTS",
    "CircuitBreaker",
    "Limits",
    "Quota",
    "QuotaVerdict",
    "Quotas",
    "StuckAgents",
    "UnknownTenant",
    "Verdict",
    "message_hash",
    "parse_close",
    "stuck_since",
]
