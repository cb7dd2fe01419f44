"""Who did what: the activity log (admin writes, logins, refusals, tokens, the kill switch)."""

from infra.audit.log import (
    AuditEntry,
    AuditFilter,
    AuditRecord,
    Log,
    list_all,
    list_tenant,
    record,
)

__all__ = ["AuditEntry", "AuditFilter", "AuditRecord", "Log", "list_all", "list_tenant", "record"]
