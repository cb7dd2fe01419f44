"""Settings of retention (env prefix ``SWITCHBOARD_RETENTION_``): the default windows."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetentionSettings(BaseSettings):
    """How long what a tenant's traffic leaves behind is kept, unless the tenant says otherwise.

    A tenant's own windows (``tenants.retention``: days by kind) replace these one by one.
    """

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_RETENTION_", extra="ignore")

    inbox_days: int = Field(
        default=30, ge=1, le=3650,
        description="Delivery bodies and normalized events; the event's row stays (tombstone)")
    audit_days: int = Field(
        default=365, ge=1, le=3650,
        description="Gateway audit rows and the activity log (who did what)")
    usage_days: int = Field(default=400, ge=1, le=3650,
                            description="Usage rows (tokens, tool calls)")
    alerts_days: int = Field(default=90, ge=1, le=3650,
                             description="Stored alerts")
    threads_days: int = Field(
        default=365, ge=1, le=3650,
        description="Ingested thread messages (their thread documents and summaries stay)")
    revoked_grace_days: int = Field(
        default=1, ge=0, le=365,
        description="A revoked token's record is kept this long past the token's expiry")
    every_hours: float = Field(default=24.0, gt=0, description="How often the schedule runs")
    batch_size: int = Field(default=5000, ge=1, le=100000,
                            description="Rows per DELETE/UPDATE statement of a prune")
