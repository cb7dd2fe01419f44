"""Logging for the long-running commands (api, worker, agent run)."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    """Log to stderr at ``$SWITCHBOARD_LOG_LEVEL`` (default INFO)."""
    logging.basicConfig(
        level=os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
