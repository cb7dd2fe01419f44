"""Pure normalizers: a provider's webhook body in, a ``StandardEvent`` out.

No I/O and no clock: the same body always gives the same event, so these run inside an activity
(or a test) in microseconds. Anything a normalizer does not understand becomes ``kind=ignore`` with
a reason; they never raise on an unexpected but well-formed JSON object.
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
    from activities.normalize import clickup, github, slack

    provider = Provider(provider)
    if provider is Provider.GITHUB:
        return github.normalize(tenant_id, body, event_name)
    if provider is Provider.SLACK:
        return slack.normalize(tenant_id, body, event_name)
    return clickup.normalize(tenant_id, body, event_name)
