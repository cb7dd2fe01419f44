"""One tenant's retention pass: each kind's tables pruned by their own writer modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from infra.audit.log import prune_activity
from infra.context.threads import prune_messages
from infra.gateway.store import prune_audit
from infra.governance.alerts import prune_alerts
from infra.governance.usage import prune_usage
from infra.inbox.store import prune_bodies

Pruner = Callable[[asyncpg.Pool, str, datetime, int], Awaitable[int]]

# Per kind of window, (the figure's name, the writer module's prune) for each table it covers.
PRUNERS: dict[str, list[tuple[str, Pruner]]] = {
    "inbox": [("inbox_bodies", prune_bodies)],
    "audit": [("audit", prune_audit), ("activity_log", prune_activity)],
    "usage": [("usage", prune_usage)],
    "alerts": [("alerts", prune_alerts)],
    "threads": [("thread_messages", prune_messages)],
}


async def prune_tenant(pool: asyncpg.Pool, tenant_id: str, cutoffs: dict[str, datetime],
                       batch: int) -> dict[str, int]:
    """Prune what of ``tenant_id`` is older than its cutoffs; rows pruned by table."""
    pruned: dict[str, int] = {}
    for kind, before in cutoffs.items():
        for name, prune in PRUNERS[kind]:
            pruned[name] = await prune(pool, tenant_id, before, batch)
    return pruned
