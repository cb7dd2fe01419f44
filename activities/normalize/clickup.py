"""ClickUp task webhooks (created, status, comment, assignee) to ``StandardEvent``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

_KINDS = {
    "taskCreated": EventKind.NEW_WORK_ITEM,
    "taskStatusUpdated": EventKind.STATUS_CHANGE,
    "taskCommentPosted": EventKind.COMMENT,
    "taskAssigneeUpdated": EventKind.ASSIGNMENT,
}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _id(value: Any) -> str | None:
    """ClickUp sends ids as numbers or strings; keep them as strings."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    return str(value) if isinstance(value, str | int) else None


def _time(value: Any) -> datetime | None:
    """ClickUp dates are epoch milliseconds, usually as a string."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _user_name(user: dict[str, Any]) -> str | None:
    name = user.get("username")
    return name if isinstance(name, str) and name else _id(user.get("id"))


def _history(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("history_items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _comment_mentions(comment: dict[str, Any]) -> list[str]:
    """People tagged in a comment (ClickUp sends them as ``tag`` parts), then ``@words``."""
    tagged = [
        name
        for part in _list(comment.get("comment"))
        if isinstance(part, dict) and part.get("type") == "tag"
        for name in [_user_name(_obj(part.get("user")))]
        if name
    ]
    text = comment.get("text_content")
    extra = extract_mentions(text if isinstance(text, str) else None)
    return list(dict.fromkeys(tagged + extra))


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one ClickUp webhook delivery (the body names its own event)."""
    event = body.get("event") if isinstance(body.get("event"), str) else None
    history = _history(body)
    first = history[0] if history else {}
    by_field = {str(h.get("field")): h for h in history}
    task_id = _id(body.get("task_id"))
    list_id = _id(first.get("parent_id")) or _id(body.get("list_id"))
    user = _obj(first.get("user"))

    status_after = _obj(by_field.get("status", {}).get("after"))
    status_before = _obj(by_field.get("status", {}).get("before"))
    comment = _obj(by_field.get("comment", {}).get("comment"))
    added = [_obj(h.get("after")) for h in history if h.get("field") == "assignee_add"]
    assignees = [n for n in map(_user_name, added) if n]
    facts: dict[str, Any] = {
        "task_id": task_id,
        "list_id": list_id,
        "webhook_id": _id(body.get("webhook_id")),
        "field": first.get("field") if isinstance(first.get("field"), str) else None,
        "status": status_after.get("status"),
        "priority": _obj(by_field.get("priority", {}).get("after")).get("priority"),
        "comment_id": _id(comment.get("id")),
        "assignee": assignees[0] if assignees else None,
    }
    if event == "taskStatusUpdated":
        facts["from"] = status_before.get("status")
        facts["to"] = status_after.get("status")
        facts["to_type"] = status_after.get("type")

    kind = _KINDS.get(event or "", EventKind.IGNORE)
    reason = None
    if kind is EventKind.IGNORE:
        field = f" ({facts['field']})" if facts["field"] else ""
        reason = f"ClickUp event {event or 'unknown'}{field} is not handled"
    elif kind is EventKind.ASSIGNMENT and not assignees:
        kind, reason = EventKind.IGNORE, "ClickUp assignee removed, nobody assigned"

    text = comment.get("text_content") if kind is EventKind.COMMENT else None
    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.CLICKUP,
        source_event=event or "unknown",
        kind=kind,
        ignore_reason=reason,
        actor=Actor(id=_id(user.get("id")), name=_user_name(user)) if user else None,
        # The payload never carries the task's name: a placeholder until someone fetches it.
        title=f"ClickUp task {task_id}" if task_id else None,
        text=text if isinstance(text, str) else None,
        url=f"https://app.clickup.com/t/{task_id}" if task_id else None,
        ref=ItemRef(container=list_id, item=task_id) if list_id or task_id else None,
        mentions=_comment_mentions(comment),
        assignees=assignees,
        project_hints=[ProjectHint(provider=Provider.CLICKUP, kind="list", external_id=list_id)]
        if list_id
        else [],
        occurred_at=_time(first.get("date")),
        facts={k: v for k, v in facts.items() if v is not None},
    )
