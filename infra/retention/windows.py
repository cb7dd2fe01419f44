"""Retention windows: a tenant's own (``tenants.retention``) over the platform's defaults."""

from __future__ import annotations

from datetime import datetime, timedelta

from infra.retention.settings import RetentionSettings

# What a window keeps, by the key a tenant's ``retention`` object uses.
KINDS = ("inbox", "audit", "usage", "alerts", "threads")


def windows(own: dict[str, int], defaults: RetentionSettings) -> dict[str, int]:
    """Days kept per kind: the tenant's own where set, else the default."""
    return {kind: int(own.get(kind) or getattr(defaults, f"{kind}_days")) for kind in KINDS}


def cutoffs(now: datetime, days: dict[str, int]) -> dict[str, datetime]:
    """Per kind, the moment before which rows are pruned."""
    return {kind: now - timedelta(days=n) for kind, n in days.items()}
