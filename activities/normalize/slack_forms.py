"""Slack slash commands and interaction payloads (form-encoded deliveries) to ``StandardEvent``.

The door stores the form byte for byte under the event name ``slash_command`` or
``interactive.<payload type>`` (api/slack_forms.py). A slash command becomes new work addressed
to whoever its text names (``/switchboard @AI_Squad look at the failing deploy``: the alias
AI_Squad, resolved like any mention); a ``block_actions`` payload (a click on a message's button
or menu) becomes an ``interaction`` for what waits on it (approvals), never for an agent; other
interactions are ignored with their type named.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

SLASH_COMMAND = "slash_command"
INTERACTIVE = "interactive."
_TITLE_MAX = 80
NOT_FOR_AGENTS = ("a click on a Slack message's button or menu: kept for what waits on it"
                  " (approvals), never sent to agents")


def is_form(provider: str, body: bytes) -> bool:
    """Whether a stored delivery is a Slack form: the door stores JSON only as an object, and a
    form never starts with ``{`` (its field names are letters, digits and ``_``)."""
    return provider == Provider.SLACK.value and not body.lstrip().startswith(b"{")


def decode(body: bytes) -> dict[str, Any]:
    """A stored form as a dict: a slash command's fields, or an interaction's ``payload`` JSON."""
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" not in fields:
        return fields
    payload = json.loads(fields["payload"])
    return payload if isinstance(payload, dict) else {}


def handles(event_name: str | None) -> bool:
    """Whether ``event_name`` is one the door gives Slack forms."""
    return event_name == SLASH_COMMAND or (event_name or "").startswith(INTERACTIVE)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _flat(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v is not None}


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one Slack form delivery (``event_name`` as the door stored it)."""
    if event_name == SLASH_COMMAND:
        return _slash_command(tenant_id, body)
    kind = (event_name or "").removeprefix(INTERACTIVE)
    if kind == "block_actions":
        return _block_actions(tenant_id, body)
    return StandardEvent(
        tenant_id=tenant_id, provider=Provider.SLACK, source_event=event_name or "unknown",
        kind=EventKind.IGNORE,
        ignore_reason=f"Slack {kind or 'unknown'} interactions are not handled",
        actor=_user(body), facts=_flat({"trigger_id": _str(body.get("trigger_id"))}))


def _slash_command(tenant_id: str, body: dict[str, Any]) -> StandardEvent:
    command, text = _str(body.get("command")), (_str(body.get("text")) or "").strip()
    channel, user = _str(body.get("channel_id")), _str(body.get("user_id"))
    if not command or not text:
        return StandardEvent(
            tenant_id=tenant_id, provider=Provider.SLACK, source_event=SLASH_COMMAND,
            kind=EventKind.IGNORE, ignore_reason="a slash command without a command or text")
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), text)
    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.SLACK,
        source_event=SLASH_COMMAND,
        kind=EventKind.NEW_WORK_ITEM,
        actor=Actor(id=user, name=_str(body.get("user_name"))) if user else None,
        title=line[: _TITLE_MAX - 1] + "…" if len(line) > _TITLE_MAX else line,
        text=text,
        ref=ItemRef(container=channel) if channel else None,
        mentions=extract_mentions(text),
        project_hints=[ProjectHint(provider=Provider.SLACK, kind="channel", external_id=channel)]
        if channel else [],
        # response_url lets a reply reach whoever typed the command for 30 minutes; it is
        # kept for the agents' answer and, like the text, never logged.
        facts=_flat({
            "command": command, "channel": channel, "channel_name": _str(body.get("channel_name")),
            "user_id": user, "team_id": _str(body.get("team_id")),
            "trigger_id": _str(body.get("trigger_id")),
            "response_url": _str(body.get("response_url")),
            "api_app_id": _str(body.get("api_app_id")),
        }),
    )


def _user(body: dict[str, Any]) -> Actor | None:
    user = _obj(body.get("user"))
    uid = _str(user.get("id"))
    return Actor(id=uid, name=_str(user.get("username")) or _str(user.get("name"))) if uid else None


def _block_actions(tenant_id: str, body: dict[str, Any]) -> StandardEvent:
    actions = body.get("actions")
    action = _obj(actions[0]) if isinstance(actions, list) and actions else {}
    container, message = _obj(body.get("container")), _obj(body.get("message"))
    channel = _str(_obj(body.get("channel")).get("id")) or _str(container.get("channel_id"))
    message_ts = _str(container.get("message_ts")) or _str(message.get("ts"))
    thread_ts = _str(message.get("thread_ts")) or _str(container.get("thread_ts"))
    value = _str(action.get("value")) or _str(_obj(action.get("selected_option")).get("value"))
    action_id = _str(action.get("action_id"))
    actor = _user(body)
    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.SLACK,
        source_event="block_actions",
        kind=EventKind.INTERACTION,
        actor=actor,
        title=f"clicked {action_id}" if action_id else "block_actions",
        ref=ItemRef(container=channel, item=thread_ts or message_ts)
        if channel or message_ts else None,
        facts=_flat({
            "action_id": action_id, "block_id": _str(action.get("block_id")),
            "action_type": _str(action.get("type")), "value": value,
            "action_ts": _str(action.get("action_ts")), "message_ts": message_ts,
            "channel": channel, "user_id": actor.id if actor else None,
            "team_id": _str(_obj(body.get("team")).get("id")),
            "trigger_id": _str(body.get("trigger_id")),
            "response_url": _str(body.get("response_url")),
            "view_id": _str(_obj(body.get("view")).get("id")),
            "actions": len(actions) if isinstance(actions, list) else 0,
        }),
    )
