"""Platform activities of the retention schedule: the plan, one tenant's prune, revocations."""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
from temporalio import activity

from infra.auth.tokens import prune_revoked
from infra.directory import tenants
from infra.retention.prune import prune_tenant
from infra.retention.settings import RetentionSettings
from infra.retention.windows import cutoffs, windows
from workflows.contracts.retention import (
    RetentionPass,
    RetentionPlan,
    RevokedPruned,
    TenantPrune,
    TenantPruned,
)

log = logging.getLogger(__name__)


class RetentionActivities:
    """Prune what is past each tenant's windows, a table at a time, in batches."""

    def __init__(self, pool: asyncpg.Pool, settings: RetentionSettings) -> None:
        self._pool = pool
        self._settings = settings

    @activity.defn(name="retention_plan")
    async def retention_plan(self, run: RetentionPass) -> RetentionPlan:
        """Every tenant's cutoffs, from its own windows over the defaults."""
        own = await tenants.retention_windows(self._pool)
        return RetentionPlan(tenants=[
            TenantPrune(tenant_id=t, cutoffs=cutoffs(run.now, windows(w, self._settings)))
            for t, w in own.items()])

    @activity.defn(name="retention_prune_tenant")
    async def prune_tenant(self, tenant: TenantPrune) -> TenantPruned:
        """Prune one tenant; rows pruned by table."""
        rows = await prune_tenant(self._pool, tenant.tenant_id, tenant.cutoffs,
                                  self._settings.batch_size)
        if any(rows.values()):
            log.info("retention pruned for tenant %s: %s", tenant.tenant_id, rows)
        return TenantPruned(tenant_id=tenant.tenant_id, rows=rows)

    @activity.defn(name="retention_prune_revoked")
    async def prune_revoked(self, run: RetentionPass) -> RevokedPruned:
        """Forget revocations of tokens expired longer than the grace ago."""
        before = run.now - timedelta(days=self._settings.revoked_grace_days)
        return RevokedPruned(rows=await prune_revoked(self._pool, before,
                                                      self._settings.batch_size))
