"""Pure normalizers: a provider's webhook body in, a ``StandardEvent`` out.

No I/O and no clock: the same body always gives the same event, so these run inside an activity
(or a test) in microseconds. Anything a normalizer does not understand becomes ``kind=ignore`` with
a reason; they never raise on an unexpected but well-formed JSON object.

What they return is always storable: NUL, which a body's strings may carry (``\\u0000``) but
PostgreSQL text and jsonb cannot, is stripped from every string of the event; and ``facts`` keep
only flat values (scalars, lists of scalars), so no part of a body, however deep, rides along.
The raw delivery stays in the inbox byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

from workflows.contracts import Provider, StandardEvent

__all__ = ["extract_mentions", "normalize"]

# Slack user mention ``<@U123>`` / ``<@U123|name>``, or a plain ``@Word`` tag that is not part of an
# e-mail address, a URL path or Slack markup (hence the look-behind).
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>|(?<![\w.@/<-])@(\w[\w.-]*)")


def extract_mentions(text: str | None) -> list[str]:
    """Return the user or group names mentioned in ``text``, in order and without duplicates."""
    found: list[str] = []
    for match in _MENTION.finditer(text or ""):
        name = (match.group(1) or match.group(2)).rstrip(".-")
        if name and name not in found:
            found.append(name)
    return found


def normalize(
    provider: Provider,
    tenant_id: str,
    body: dict[str, Any],
    event_name: str | None = None,
) -> StandardEvent:
    """Turn one provider webhook body into a ``StandardEvent`` (``event_name``: X-GitHub-Event)."""
    # Imported here because the provider modules import ``extract_mentions`` from this package.
    from activities.normalize import clickup, github, slack, slack_forms

    provider = Provider(provider)
    if provider is Provider.SLACK and slack_forms.handles(event_name):  # slash commands, buttons
        event = slack_forms.normalize(tenant_id, body, event_name)
    elif provider is Provider.GITHUB:
        event = github.normalize(tenant_id, body, event_name)
    elif provider is Provider.SLACK:
        event = slack.normalize(tenant_id, body, event_name)
    else:
        event = clickup.normalize(tenant_id, body, event_name)
    return _storable(event)


_SCALAR = (str, int, float, bool)


def _flat(value: Any) -> bool:
    return isinstance(value, _SCALAR) or (
        isinstance(value, list) and all(isinstance(v, _SCALAR) for v in value))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _storable(event: StandardEvent) -> StandardEvent:
    """The event with flat facts and no NUL in any string (see the module docstring)."""
    if not all(map(_flat, event.facts.values())):
        event = event.model_copy(
            update={"facts": {k: v for k, v in event.facts.items() if _flat(v)}})
    if "\\u0000" in event.model_dump_json():  # rare: rebuild only then
        event = StandardEvent.model_validate(_without_nul(event.model_dump()))
    return event
