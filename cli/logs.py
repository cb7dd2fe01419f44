"""Logging for the long-running commands (api, worker, agent run)."""

from __future__ import annotations

from infra.observability import logs


def configure_logging() -> None:
    """Log to stderr at ``$SWITCHBOARD_LOG_LEVEL`` (default INFO), as text or, with
    ``SWITCHBOARD_LOG_FORMAT=json``, one JSON object a line (infra/observability/logs.py)."""
    logs.configure()
