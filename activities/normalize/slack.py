"""Slack Events API deliveries (every event type and message subtype) to ``StandardEvent``.

A person's new words (a message, a thread reply or broadcast, a file share, a ``/me``, an app
mention) are work: ``new_work_item`` at the top of a channel, ``comment`` in a thread, and
remembered (``facts["memory"] = "add"``). An edit or a deletion only updates memory (``edit`` /
``delete`` of the original message's ``ts``), unless an edit newly mentions someone: then it is
a ``comment`` addressed to them. Everything else is ignored, each with the reason why.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

# Message subtypes that still carry a person's new words.
_HUMAN_SUBTYPES = {"thread_broadcast", "file_share", "me_message"}
_HOUSEKEEPING = "channel housekeeping, not a request"
_SUBTYPE_REASONS = {
    "message_replied": "a thread's parent was updated; the reply arrives as its own message",
    "ekm_access_denied": "content redacted by the workspace's key management: nothing to read",
    "pinned_item": "a pin is not a request", "unpinned_item": "a pin is not a request",
    "reminder_add": "a reminder set in Slack is not a request to the swarm",
}
_EVENT_REASONS = {
    "reaction_added": "a reaction is not a request", "reaction_removed": "a reaction is not a "
    "request", "link_shared": "a link unfurl request: Switchboard unfurls nothing",
    "app_home_opened": "a user opened the app's home tab",
    "app_uninstalled": "the app's installation changed: administration, not work",
    "tokens_revoked": "the app's tokens were revoked: administration, not work",
    "app_rate_limited": "Slack is rate limiting this app's events: an operator alert, not work",
    "function_executed": "a Slack workflow step of this app: Switchboard provides none",
    "workflow_step_execute": "a Slack workflow step of this app: Switchboard provides none",
}
_USER_MARKUP = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_TITLE_MAX = 80


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    """Slack times are epoch seconds, as a number (event_time) or a string (ts)."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _title(text: str | None) -> str | None:
    """The message's first non-empty line, with user markup made readable, cut to 80 chars."""
    plain = _USER_MARKUP.sub(lambda m: "@" + (m.group(2) or m.group(1)), text or "")
    line = next((ln.strip() for ln in plain.splitlines() if ln.strip()), "")
    return (line[: _TITLE_MAX - 1] + "…" if len(line) > _TITLE_MAX else line) or None


def _ignored_event(etype: str) -> str:
    """Why an event type that carries no person's new words is ignored."""
    if etype in _EVENT_REASONS:
        return f"Slack {etype}: {_EVENT_REASONS[etype]}"
    if etype.startswith(("file_", "file")):
        return f"Slack {etype}: files reach agents with their message (subtype file_share)"
    if etype.startswith(("channel_", "group_", "im_", "member_", "pin_", "star_")):
        return f"Slack {etype}: {_HOUSEKEEPING}"
    return f"Slack {etype or 'unknown'} event: workspace housekeeping, not a request"


def _message(event: dict[str, Any]) -> dict[str, Any]:
    """The message an event is about: the new one for an edit, the old one for a deletion."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _obj(event.get("message"))
    if subtype == "message_deleted":
        return _obj(event.get("previous_message"))
    return event


def _classify(outer: str, etype: str, event: dict[str, Any]) -> tuple[EventKind, str | None]:
    """Decide the event kind, and why it is ignored when it is."""
    if outer == "url_verification":
        return EventKind.IGNORE, "Slack url_verification handshake (the door answers the challenge)"
    if outer == "app_rate_limited":
        return EventKind.IGNORE, _ignored_event(outer)
    if outer != "event_callback":
        return EventKind.IGNORE, f"Slack delivery type {outer or 'unknown'} is not an event"
    if etype not in ("message", "app_mention"):
        return EventKind.IGNORE, _ignored_event(etype)
    subtype = _str(event.get("subtype"))
    message = _message(event)
    bot = event.get("bot_id") or message.get("bot_id") or message.get("subtype") == "bot_message"
    if bot or subtype == "bot_message":
        name = event.get("bot_id") or message.get("bot_id") or event.get("username")
        return EventKind.IGNORE, f"sent by a bot ({name})"
    if subtype == "message_changed":
        before = extract_mentions(_str(_obj(event.get("previous_message")).get("text")))
        if set(extract_mentions(_str(message.get("text")))) - set(before):
            return EventKind.COMMENT, None  # the edit addresses someone new
        return EventKind.IGNORE, "message edited: memory updated"
    if subtype == "message_deleted":
        return EventKind.IGNORE, "message deleted: memory updated"
    if subtype and subtype not in _HUMAN_SUBTYPES:
        reason = _SUBTYPE_REASONS.get(subtype, _HOUSEKEEPING)
        return EventKind.IGNORE, f"Slack {etype} subtype {subtype}: {reason}"
    thread_ts, ts = _str(event.get("thread_ts")), _str(event.get("ts"))
    if thread_ts and thread_ts != ts:
        return EventKind.COMMENT, None
    return EventKind.NEW_WORK_ITEM, None


def _memory(subtype: str | None, kind: EventKind, reason: str | None,
            event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """What the platform should remember of a person's words (the memory contract)."""
    edited = kind is EventKind.COMMENT or (reason or "").endswith("memory updated")
    if subtype == "message_changed" and edited:
        original = _str(message.get("ts")) or _str(_obj(event.get("previous_message")).get("ts"))
        return {"memory": "edit", "message_id": original, "edited_ts": _str(event.get("ts"))}
    if subtype == "message_deleted" and (reason or "").endswith("memory updated"):
        return {"memory": "delete", "message_id": _str(event.get("deleted_ts"))
                or _str(message.get("ts"))}
    if kind in (EventKind.NEW_WORK_ITEM, EventKind.COMMENT):
        return {"memory": "add", "message_id": _str(event.get("ts"))}
    return {}


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one Slack Events API delivery (the body names its own event)."""
    outer = _str(body.get("type")) or ""
    event = _obj(body.get("event"))
    etype = _str(event.get("type")) or ""
    item = _obj(event.get("item"))  # reactions point at a message through "item"
    kind, reason = _classify(outer, etype, event)
    subtype = _str(event.get("subtype"))
    message = _message(event)

    channel = (_str(event.get("channel")) or _str(item.get("channel"))
               or _str(event.get("channel_id")))
    ts = _str(event.get("ts"))
    thread_ts = _str(message.get("thread_ts")) or _str(event.get("thread_ts"))
    root_ts = thread_ts or _str(message.get("ts")) or ts or _str(item.get("ts"))
    user = _str(message.get("user")) or _str(event.get("user")) or _str(event.get("user_id"))
    bot_id = _str(event.get("bot_id")) or _str(message.get("bot_id"))
    text = None if subtype == "message_deleted" else _str(message.get("text"))
    files = [f for f in event.get("files") or [] if isinstance(f, dict)]
    facts: dict[str, Any] = {
        "team_id": _str(body.get("team_id")),
        "event_id": _str(body.get("event_id")),
        "channel": channel,
        "channel_type": _str(event.get("channel_type")),
        "user": user,
        "ts": ts,
        "thread_ts": thread_ts,
        "subtype": subtype,
        "bot_id": bot_id,
        "reaction": _str(event.get("reaction")),
        "item_ts": _str(item.get("ts")),
        "item_user": _str(event.get("item_user")),
        "challenge": _str(body.get("challenge")),
        "file_ids": [f["id"] for f in files if isinstance(f.get("id"), str)]
        or ([event["file_id"]] if _str(event.get("file_id")) else None),
        "file_names": [f["name"] for f in files if isinstance(f.get("name"), str)] or None,
    }
    facts.update(_memory(subtype, kind, reason, event, message))
    is_bot = bool(bot_id) or subtype == "bot_message"
    actor_id = user or bot_id
    mentions = extract_mentions(text)
    if subtype == "message_changed" and kind is EventKind.COMMENT:
        before = extract_mentions(_str(_obj(event.get("previous_message")).get("text")))
        mentions = [m for m in mentions if m not in before]

    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.SLACK,
        source_event=f"{outer}/{etype}" if outer and etype else outer or "unknown",
        kind=kind,
        ignore_reason=reason if kind is EventKind.IGNORE else None,
        actor=Actor(id=actor_id, name=_str(event.get("username")), is_bot=is_bot)
        if actor_id or is_bot
        else None,
        title=_title(text) if kind is EventKind.NEW_WORK_ITEM else None,
        text=text,
        ref=ItemRef(container=channel, item=root_ts) if channel or root_ts else None,
        mentions=mentions,
        project_hints=[ProjectHint(provider=Provider.SLACK, kind="channel", external_id=channel)]
        if channel
        else [],
        occurred_at=_time(body.get("event_time")) or _time(ts) or _time(event.get("event_ts")),
        facts={k: v for k, v in facts.items() if v is not None},
    )
