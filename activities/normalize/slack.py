"""Slack Events API deliveries (messages, app mentions) to ``StandardEvent``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

# Message subtypes that still carry a person's new words; every other subtype (edits, deletions,
# joins, topic changes...) is housekeeping.
_HUMAN_SUBTYPES = {"thread_broadcast", "file_share", "me_message"}
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


def _classify(outer: str, etype: str, event: dict[str, Any]) -> tuple[EventKind, str | None]:
    """Decide the event kind, and why it is ignored when it is."""
    if outer == "url_verification":
        return EventKind.IGNORE, "Slack URL verification handshake"
    if outer != "event_callback":
        return EventKind.IGNORE, f"Slack delivery type {outer or 'unknown'} is not an event"
    if etype not in ("message", "app_mention"):
        return EventKind.IGNORE, f"Slack event {etype or 'unknown'} is not handled"
    subtype = _str(event.get("subtype"))
    if event.get("bot_id") or subtype == "bot_message":
        return EventKind.IGNORE, f"sent by a bot ({event.get('bot_id') or event.get('username')})"
    if subtype and subtype not in _HUMAN_SUBTYPES:
        return EventKind.IGNORE, f"Slack {etype} subtype {subtype} is not a new message"
    thread_ts, ts = _str(event.get("thread_ts")), _str(event.get("ts"))
    if thread_ts and thread_ts != ts:
        return EventKind.COMMENT, None
    return EventKind.NEW_WORK_ITEM, None


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one Slack Events API delivery (the body names its own event)."""
    outer = _str(body.get("type")) or ""
    event = _obj(body.get("event"))
    etype = _str(event.get("type")) or ""
    item = _obj(event.get("item"))  # reactions point at a message through "item"
    kind, reason = _classify(outer, etype, event)

    channel = _str(event.get("channel")) or _str(item.get("channel"))
    ts = _str(event.get("ts"))
    thread_ts = _str(event.get("thread_ts"))
    root_ts = thread_ts or ts or _str(item.get("ts"))
    user = _str(event.get("user"))
    bot_id = _str(event.get("bot_id"))
    text = _str(event.get("text"))
    facts: dict[str, Any] = {
        "team_id": _str(body.get("team_id")),
        "event_id": _str(body.get("event_id")),
        "channel": channel,
        "channel_type": _str(event.get("channel_type")),
        "user": user,
        "ts": ts,
        "thread_ts": thread_ts,
        "subtype": _str(event.get("subtype")),
        "bot_id": bot_id,
        "reaction": _str(event.get("reaction")),
        "item_ts": _str(item.get("ts")),
        "item_user": _str(event.get("item_user")),
        "challenge": _str(body.get("challenge")),
    }
    is_bot = bool(bot_id) or facts["subtype"] == "bot_message"
    actor_id = user or bot_id

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
        mentions=extract_mentions(text),
        project_hints=[ProjectHint(provider=Provider.SLACK, kind="channel", external_id=channel)]
        if channel
        else [],
        occurred_at=_time(body.get("event_time")) or _time(ts) or _time(event.get("event_ts")),
        facts={k: v for k, v in facts.items() if v is not None},
    )
