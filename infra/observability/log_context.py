"""The ids a log line carries, held in context variables for the request or task at hand.

The API's request middleware binds the request id and the tenant of the path, the webhook door
adds the delivery id and its event workflow id; inside a Temporal activity the workflow and run
ids come from ``temporalio.activity.info()`` (see ``current``). Values are ids only, never
content or secrets.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from dataclasses import dataclass, fields

from workflows.ids import event_workflow_id


@dataclass(frozen=True)
class LogIds:
    """The ids of what a log line is about; None where unknown."""

    tenant: str | None = None
    delivery: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    request_id: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """The known ids as (name, value) pairs, in a stable order."""
        return [(f.name, v) for f in fields(self) if (v := getattr(self, f.name)) is not None]


_IDS: ContextVar[LogIds | None] = ContextVar("switchboard_log_ids", default=None)


def bind(**ids: str | None) -> None:
    """Add ids to the current context (those given replace earlier ones)."""
    current_ids = _IDS.get() or LogIds()
    _IDS.set(LogIds(**{**current_ids.__dict__, **ids}))


def bind_request(request_id: str, tenant: str | None) -> None:
    """Start a request's ids afresh: its request id and the tenant its path names."""
    _IDS.set(LogIds(request_id=request_id, tenant=tenant))


def bind_delivery(tenant: str, provider: str, dedup_key: str) -> None:
    """The webhook door's ids: the delivery and the workflow it becomes (its hot path: one
    object built, no copy of the earlier ids but the request's)."""
    earlier = _IDS.get()
    _IDS.set(LogIds(tenant=tenant, delivery=dedup_key,
                    workflow_id=event_workflow_id(tenant, provider, dedup_key),
                    request_id=earlier.request_id if earlier is not None else None))


def _from_workflow_id(workflow_id: str) -> tuple[str | None, str | None]:
    """Tenant and delivery named by a workflow id (workflows/ids.py), where it names them."""
    parts = workflow_id.split("/")
    if len(parts) < 3 or parts[0] not in ("event", "run", "session", "presence"):
        return None, None
    if parts[0] == "event" and len(parts) >= 4:
        return parts[1], "/".join(parts[3:])
    if parts[0] == "run" and len(parts) >= 5:
        return parts[1], "/".join(parts[3:-1])
    return parts[1], None


def current() -> LogIds:
    """The ids of the code running now: the request's, or the activity's workflow's."""
    ids = _IDS.get() or LogIds()
    # Not imported here: a process that never loaded temporalio (a CLI command) runs no
    # activity, and importing it costs every command a second or more.
    activity = sys.modules.get("temporalio.activity")
    if ids.workflow_id is None and activity is not None and activity.in_activity():
        info = activity.info()
        tenant, delivery = _from_workflow_id(info.workflow_id or "")
        ids = LogIds(tenant=ids.tenant or tenant, delivery=ids.delivery or delivery,
                     workflow_id=info.workflow_id, run_id=info.workflow_run_id,
                     request_id=ids.request_id)
    return ids


def from_workflow_record(data: object) -> LogIds | None:
    """The ids in the ``temporal_workflow`` extra of ``workflow.logger``'s records."""
    if not isinstance(data, dict) or not isinstance(data.get("workflow_id"), str):
        return None
    tenant, delivery = _from_workflow_id(data["workflow_id"])
    run_id = data.get("run_id")
    return LogIds(tenant=tenant, delivery=delivery, workflow_id=data["workflow_id"],
                  run_id=run_id if isinstance(run_id, str) else None)
