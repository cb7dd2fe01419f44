"""ClickUp webhooks (every task, list, folder, space and goal event) to ``StandardEvent``.

Every task event reaches an agent: created (``new_work_item``), status and deletion
(``status_change``), assignees added or removed (``assignment``), a comment (``comment``,
remembered), and any other change of the task, a move between lists included (``update``). A
comment's edit only updates memory. Lists, folders, spaces, goals and key results are
administration, ignored with the reason. Every history item of the delivery is reflected (ids and
fields as lists); the status item ClickUp repeats in a ``taskStatusUpdated`` when a task is
created is ignored, since the ``taskCreated`` carrying the same history item is the work. The
payload never names the task: ``facts["task_id"]`` is what enrichment fetches it by.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

_KINDS = {
    "taskCreated": EventKind.NEW_WORK_ITEM,
    "taskStatusUpdated": EventKind.STATUS_CHANGE,
    "taskDeleted": EventKind.STATUS_CHANGE,
    "taskCommentPosted": EventKind.COMMENT,
    "taskAssigneeUpdated": EventKind.ASSIGNMENT,
}
_NOT_WORK = {
    "list": "a list changed: lists map to projects, which admins set",
    "folder": "a folder changed: folders are not tracked",
    "space": "a space changed: spaces are not tracked",
    "goal": "a goal changed: goals are not tracked",
    "keyResult": "a goal's key result changed: goals are not tracked",
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
    return [i for i in _list(body.get("history_items")) if isinstance(i, dict)]


def _comment(item: dict[str, Any]) -> tuple[str | None, str | None, list[Any]]:
    """A comment history item's id, text and parts (ClickUp sends an object, or only parts)."""
    raw = item.get("comment")
    comment, parts = (_obj(raw), _list(_obj(raw).get("comment"))) if isinstance(raw, dict) else (
        {}, _list(raw))
    text = comment.get("text_content")
    if not isinstance(text, str):
        text = "".join(p["text"] for p in parts if isinstance(p, dict)
                       and isinstance(p.get("text"), str)) or None
    return _id(comment.get("id")) or _id(item.get("after")), text, parts


def _comment_mentions(parts: list[Any], text: str | None) -> list[str]:
    """People tagged in a comment (ClickUp sends them as ``tag`` parts), then ``@words``."""
    tagged = [name for part in parts if isinstance(part, dict) and part.get("type") == "tag"
              for name in [_user_name(_obj(part.get("user")))] if name]
    return list(dict.fromkeys(tagged + extract_mentions(text)))


def _decide(event: str, history: list[dict[str, Any]], facts: dict[str, Any]
            ) -> tuple[EventKind, str | None]:
    """The kind of one ClickUp delivery, and the reason when it is ignored."""
    if not event.startswith("task"):
        scope = next((k for k in _NOT_WORK if event.startswith(k)), None)
        return EventKind.IGNORE, f"ClickUp {event or 'unknown'}: " + (
            _NOT_WORK[scope] if scope else "not a task event")
    if event == "taskCommentUpdated":
        return EventKind.IGNORE, "comment edited: memory updated"
    if event == "taskCommentDeleted":
        return EventKind.IGNORE, "comment deleted: memory updated"
    status = next((h for h in history if h.get("field") == "status"), {})
    before = _obj(status.get("before"))
    if event == "taskStatusUpdated" and status and (
            before.get("type") == "removed" or before.get("status") is None):
        return EventKind.IGNORE, (f"ClickUp {event}: status set at task creation; history item "
                                  f"{status.get('id')} arrives with taskCreated")
    if event == "taskAssigneeUpdated" and not (facts["assignees_added"]
                                               or facts["assignees_removed"]):
        return EventKind.IGNORE, f"ClickUp {event} names no assignee added or removed"
    return _KINDS.get(event, EventKind.UPDATE), None


def _facts(event: str, body: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Flat facts of the delivery: the task, every history item, and what each changed."""
    by_field = {str(h.get("field")): h for h in history}
    first = history[0] if history else {}
    added = [n for h in history if h.get("field") == "assignee_add"
             for n in [_user_name(_obj(h.get("after")))] if n]
    removed = [n for h in history if h.get("field") == "assignee_rem"
               for n in [_user_name(_obj(h.get("before")) or _obj(h.get("after")))] if n]
    status = by_field.get("status", {})
    moved = by_field.get("section_moved", {})
    tags = [t["name"] for t in _list(by_field.get("tag", {}).get("after"))
            if isinstance(t, dict) and isinstance(t.get("name"), str)]
    facts: dict[str, Any] = {
        "task_id": _id(body.get("task_id")),
        "list_id": _id(first.get("parent_id")) or _id(body.get("list_id")),
        "folder_id": _id(body.get("folder_id")), "space_id": _id(body.get("space_id")),
        "goal_id": _id(body.get("goal_id")), "key_result_id": _id(body.get("key_result_id")),
        "webhook_id": _id(body.get("webhook_id")),
        "field": first.get("field") if isinstance(first.get("field"), str) else None,
        "fields": [f for h in history if isinstance(f := h.get("field"), str)],
        "history_item_ids": [i for h in history if (i := _id(h.get("id")))],
        "status": _obj(status.get("after")).get("status"),
        "priority": _obj(by_field.get("priority", {}).get("after")).get("priority"),
        "assignee": added[0] if added else None,
        "assignees_added": added, "assignees_removed": removed,
        "change": "added" if added else "removed" if removed else None,
        "from_list": _id(_obj(moved.get("before")).get("id")),
        "to_list": _id(_obj(moved.get("after")).get("id")),
        "due_date": _id(by_field.get("due_date", {}).get("after")),
        "tags": tags or None,
    }
    if event == "taskStatusUpdated":
        facts.update({"from": _obj(status.get("before")).get("status"),
                      "to": _obj(status.get("after")).get("status"),
                      "to_type": _obj(status.get("after")).get("type")})
    if event == "taskDeleted":
        facts["new_state"] = "deleted"
    return facts


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one ClickUp webhook delivery (the body names its own event)."""
    raw_event = body.get("event")
    event = raw_event if isinstance(raw_event, str) else ""
    history = _history(body)
    first = history[0] if history else {}
    user = _obj(first.get("user"))
    facts = _facts(event, body, history)
    kind, reason = _decide(event, history, facts)

    comment_item = next((h for h in history if h.get("field") == "comment"), None)
    comment_id, text, parts = _comment(comment_item) if comment_item else (None, None, [])
    memory = {"taskCommentPosted": "add", "taskCommentUpdated": "edit",
              "taskCommentDeleted": "delete"}.get(event)
    if memory and comment_id:
        facts.update(memory=memory, message_id=comment_id, comment_id=comment_id)
    task_id, list_id = facts["task_id"], facts["list_id"]
    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.CLICKUP,
        source_event=event or "unknown",
        kind=kind,
        ignore_reason=reason,
        actor=Actor(id=_id(user.get("id")), name=_user_name(user)) if user else None,
        # The payload never carries the task's name: a placeholder until enrichment fetches it.
        title=f"ClickUp task {task_id}" if task_id else None,
        text=text if memory in ("add", "edit") else None,
        url=f"https://app.clickup.com/t/{task_id}" if task_id else None,
        ref=ItemRef(container=list_id, item=task_id) if list_id or task_id else None,
        mentions=_comment_mentions(parts, text) if memory == "add" else [],
        # Who the event is addressed to: the people added, else those removed (they stop).
        assignees=facts["assignees_added"] or facts["assignees_removed"],
        project_hints=[ProjectHint(provider=Provider.CLICKUP, kind="list", external_id=list_id)]
        if list_id
        else [],
        occurred_at=_time(first.get("date")),
        facts={k: v for k, v in facts.items() if v is not None and v != []},
    )
