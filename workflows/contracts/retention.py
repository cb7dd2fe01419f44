"""Contracts of the retention workflow and its activities (figures only, never content)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RetentionPass(BaseModel):
    """A pass's clock: every cutoff is measured from it, so a retried step prunes the same."""

    now: datetime


class TenantPrune(BaseModel):
    """One tenant's pass: the moment before which each kind is pruned."""

    tenant_id: str
    cutoffs: dict[str, datetime]


class RetentionPlan(BaseModel):
    """Every tenant's cutoffs for this pass."""

    tenants: list[TenantPrune] = Field(default_factory=list)


class TenantPruned(BaseModel):
    """Rows pruned for one tenant, by table (``inbox_bodies``: deliveries made tombstones)."""

    tenant_id: str
    rows: dict[str, int] = Field(default_factory=dict)


class RevokedPruned(BaseModel):
    """Revocations forgotten: their tokens had expired."""

    rows: int


class RetentionReport(BaseModel):
    """What one pass pruned: totals by table, and each tenant that had something to prune."""

    started_at: datetime
    tenants: int
    rows: dict[str, int] = Field(default_factory=dict)
    by_tenant: list[TenantPruned] = Field(default_factory=list)
