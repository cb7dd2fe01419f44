"""Log setup for the long-running processes: readable text (default) or one JSON object a line.

Every record gets the ids of what it is about (``log_context``): in JSON they are keys of the
object (``tenant``, ``delivery``, ``workflow_id``, ``run_id``, ``request_id``), in text they
follow the message as ``key=value``. Only ids are added; messages are the code's own, which
never carries secrets (tests/test_logs.py checks a webhook's request for the tenant's secret and
the admin token).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from infra.observability import log_context
from infra.observability.settings import ObservabilitySettings

IDS = ("tenant", "delivery", "workflow_id", "run_id", "request_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(switchboard_ids)s"


class ContextIds(logging.Filter):
    """Puts the ids of the running request, activity or workflow on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the ids (never drops a record)."""
        ids = log_context.current()
        if ids.workflow_id is None:
            ids = log_context.from_workflow_record(
                getattr(record, "temporal_workflow", None)) or ids
        pairs = ids.items()
        for name, value in pairs:
            setattr(record, f"switchboard_{name}", value)
        record.switchboard_ids = "".join(f" {k}={v}" for k, v in pairs)
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in IDS:
            value = getattr(record, f"switchboard_{name}", None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def handler(log_format: str, stream: object = None) -> logging.Handler:
    """A stream handler (stderr by default) writing ``log_format`` ("text" or "json")."""
    out = logging.StreamHandler(stream if stream is not None else sys.stderr)  # type: ignore[arg-type]
    out.addFilter(ContextIds())
    out.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return out


def configure(settings: ObservabilitySettings | None = None) -> None:
    """Log to stderr at the configured level and format, replacing the root's handlers."""
    chosen = settings or ObservabilitySettings()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(chosen.log_format))
    root.setLevel(chosen.log_level.upper())
