"""Settings of logs, metrics and readiness (env prefix ``SWITCHBOARD_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ObservabilitySettings(BaseSettings):
    """How the processes log, who may scrape ``/metrics`` and when ``/readyz`` says not ready."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line for a terminal; json: one JSON object a line with "
                    "tenant, delivery, workflow, run and request ids (for a log pipeline)")
    log_level: str = Field(default="INFO", description="Root log level (DEBUG, INFO, WARNING)")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token GET /metrics requires; unset: /metrics is public (it holds "
                    "no tenant ids and no content, only platform-wide figures)")
    ready_max_relay_lag_seconds: float = Field(
        default=60.0, gt=0,
        description="/readyz answers 503 when the oldest delivery not yet started in Temporal "
                    "has waited longer than this")
