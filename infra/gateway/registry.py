"""Every intent the gateway knows, each defined once in its family's module."""

from __future__ import annotations

from typing import Any

from infra.delegation.intent import DELEGATE_INTENT
from infra.gateway import clickup, github, memory, slack
from infra.gateway.base import Intent
from infra.gateway.reply import REPLY_INTENT


def builtin_intents() -> dict[str, Intent[Any]]:
    """GitHub, Slack and ClickUp intents plus ``reply``, ``memory_remember`` and ``delegate``."""
    intents: list[Intent[Any]] = [*github.INTENTS, *slack.INTENTS, *clickup.INTENTS, REPLY_INTENT,
                                  *memory.INTENTS, DELEGATE_INTENT]
    return {i.name: i for i in intents}
