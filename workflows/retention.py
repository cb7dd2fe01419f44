"""Retention, run by the Temporal Schedule ``switchboard-retention``.

Each pass plans every tenant's cutoffs from the pass's own clock, prunes the tenants one at a
time (an activity each: retried alone, visible in the UI) and then the expired revocations. Its
result (rows pruned by table, and by tenant where anything was) is the figure the Temporal UI
shows for each of the schedule's runs.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from workflows import policies
    from workflows.contracts.retention import (
        RetentionPass,
        RetentionPlan,
        RetentionReport,
        RevokedPruned,
        TenantPruned,
    )

SCHEDULE_ID = "switchboard-retention"


@workflow.defn(name="RetentionWorkflow")
class RetentionWorkflow:
    """One retention pass over every tenant."""

    @workflow.run
    async def run(self) -> RetentionReport:
        """Prune every tenant past its windows; return what was pruned."""
        run = RetentionPass(now=workflow.now())
        plan: RetentionPlan = await workflow.execute_activity_method(
            RetentionActivities.retention_plan, run,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        report = RetentionReport(started_at=run.now, tenants=len(plan.tenants))
        for tenant in plan.tenants:
            pruned: TenantPruned = await workflow.execute_activity_method(
                RetentionActivities.prune_tenant, tenant,
                start_to_close_timeout=policies.RETENTION_TIMEOUT, retry_policy=policies.DB_STEP)
            _add(report, pruned.rows)
            if any(pruned.rows.values()):
                report.by_tenant.append(pruned)
        revoked: RevokedPruned = await workflow.execute_activity_method(
            RetentionActivities.prune_revoked, run,
            start_to_close_timeout=policies.RETENTION_TIMEOUT, retry_policy=policies.DB_STEP)
        _add(report, {"revoked_tokens": revoked.rows})
        return report


def _add(report: RetentionReport, rows: dict[str, int]) -> None:
    for table, n in rows.items():
        report.rows[table] = report.rows.get(table, 0) + n
