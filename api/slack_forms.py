"""Slack's form-encoded deliveries at the door: slash commands and interaction payloads.

Slack posts these as ``application/x-www-form-urlencoded``, signed like its JSON events (``v0``
over the raw body; the door checks it before anything here runs). A slash command is a set of
fields (``command``, ``text``, ``user_id``, ``channel_id``, ``trigger_id``, ``response_url``,
``team_id``, ...); an interaction (a button click, ``block_actions``; a modal's
``view_submission``; a shortcut) is one field, ``payload``, holding JSON. Slack waits 3 seconds
for the answer and shows a slash command's answer to the person who typed it, so the door answers
from what it reads here and one inbox insert, nothing else.

Parsing is strict: UTF-8, ``name=value`` pairs joined by ``&``, names as Slack spells them
(lower-case letters, digits, ``_``), each name once; anything else is a 400 and stores nothing.
As no field name starts with ``{``, a stored form body is told from a stored JSON body (always an
object) by its first byte; the pipeline relies on it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from api.errors import ApiError
from api.providers import bounded_key

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
SLASH_COMMAND = "slash_command"
INTERACTIVE = "interactive."  # + the payload's type: interactive.block_actions
MAX_FIELDS = 50  # a slash command has about 15 fields, an interaction one
_NAME = re.compile(r"[a-z0-9_]{1,64}")
# What the acknowledgement names: Slack's escaped mentions (<@U123|name>) and plain @words.
_NAMED = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>|(?<![\w.@/<-])@\w[\w.-]*")


class InteractionBody(msgspec.Struct):
    """What the door reads of an interaction payload: its type and identity."""

    type: Any = None
    trigger_id: Any = None
    actions: Any = None


INTERACTION_DECODER = msgspec.json.Decoder(InteractionBody)


@dataclass(frozen=True)
class SlashCommand:
    """A slash command as the door sees it."""

    command: str
    text: str
    dedup_key: str


def parse_form(body: bytes) -> dict[str, str]:
    """The form's fields; 400 for anything but a strict form of distinct, Slack-like names."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True,
                          errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_form", "the form is not valid UTF-8") from None
    except ValueError as exc:  # a pair without "=", an empty pair, too many fields
        raise ApiError(400, "malformed_form", f"body is not a form: {exc}") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if _NAME.fullmatch(name) is None:
            raise ApiError(400, "malformed_form",
                           f"form field name {name[:40]!r} is not one Slack sends")
        if name in fields:
            raise ApiError(400, "malformed_form", f"form field {name!r} appears twice")
        fields[name] = value
    return fields


def slash_command(fields: dict[str, str]) -> SlashCommand:
    """The command, its text and its dedup key (``trigger_id``: unique per invocation)."""
    trigger_id = fields.get("trigger_id")
    if not trigger_id:
        raise ApiError(400, "missing_trigger_id", "a slash command carries a trigger_id")
    return SlashCommand(fields["command"], fields.get("text", "").strip(),
                        bounded_key(f"command:{trigger_id}"))


def interaction(payload: InteractionBody, raw: bytes) -> tuple[str, str]:
    """(event name, dedup key) of an interaction payload: by its ``trigger_id``, else the first
    action's ``action_ts``, else a digest of the payload."""
    kind = payload.type
    if not isinstance(kind, str) or _NAME.fullmatch(kind) is None:
        raise ApiError(400, "missing_type", "the interaction payload has no type Slack sends")
    actions = payload.actions
    first = actions[0] if isinstance(actions, list) and actions else None
    action_ts = first.get("action_ts") if isinstance(first, dict) else None
    if isinstance(payload.trigger_id, str) and payload.trigger_id:
        identity = payload.trigger_id
    elif isinstance(action_ts, str) and action_ts:
        identity = f"action_ts:{action_ts}"
    else:
        identity = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    return INTERACTIVE + kind, bounded_key(f"interactive:{kind}:{identity}")


def _escaped(text: str) -> str:
    """Text safe inside a Slack message (its three control characters escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ephemeral(text: str) -> dict[str, str]:
    """A slash command's answer, shown only to whoever typed it."""
    return {"response_type": "ephemeral", "text": text}


def acknowledgement(command: SlashCommand, *, duplicate: bool) -> dict[str, str]:
    """The answer to a slash command stored for the agents (or stored before: a retry)."""
    if duplicate:
        return ephemeral(f"Already received: {_escaped(command.command)} is on its way.")
    named = list(dict.fromkeys(_NAMED.findall(command.text)))
    to = ", ".join(named) if named else "the default agents"
    return ephemeral(f"Got it: passing your {_escaped(command.command)} request to {to}.")


def usage(command: str) -> dict[str, str]:
    """The answer to a slash command with no text: how to use it (nothing is stored)."""
    return ephemeral(f"Tell the agents what to do, e.g. `{_escaped(command)} @AI_Squad look at the"
                     " failing deploy`.")


def unknown_command(command: str, known: frozenset[str]) -> dict[str, str]:
    """The answer to a command this tenant has not configured (nothing is stored)."""
    names = ", ".join(sorted(known)) or "none"
    return ephemeral(f"{_escaped(command[:40])} is not a Switchboard command in this workspace"
                     f" (configured: {_escaped(names)}); nothing was sent to the agents.")
