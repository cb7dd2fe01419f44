"""``reply``: answer on the event's own source (Slack thread, GitHub issue or PR, ClickUp task).

The agent says what to answer; the gateway knows where from the event. The grant is checked on
``reply`` and the event's container (channel, repo or list); the credential is the one of the
intent the reply becomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from infra.gateway.base import ExecutionContext, Intent, Result
from workflows.contracts import Provider, StandardEvent

REPLY = "reply"


class ReplyArgs(BaseModel):
    """What to answer."""

    text: str = Field(min_length=1, max_length=40000, description="The reply, in plain text")


def reply_target(args: BaseModel, event: StandardEvent | None,
                 intents: Mapping[str, Intent[Any]]) -> tuple[Intent[Any], BaseModel]:
    """The concrete intent and arguments a reply becomes for this event."""
    assert isinstance(args, ReplyArgs)
    ref = event.ref if event else None
    if event is None or ref is None or not ref.container or not ref.item:
        raise ValueError("reply needs an event with a thread, issue or task to answer on")
    raw: dict[str, Any]
    if event.provider is Provider.SLACK:
        name, raw = "slack_reply", {"channel": ref.container, "thread_ts": ref.item,
                                    "text": args.text}
    elif event.provider is Provider.GITHUB:
        name, raw = "github_comment", {"repo": ref.container, "number": int(ref.item),
                                       "body": args.text}
    else:
        name, raw = "clickup_comment", {"task_id": ref.item, "text": args.text}
    concrete = intents[name]
    return concrete, concrete.args.model_validate(raw)


async def _never(args: ReplyArgs, ctx: ExecutionContext) -> Result:
    raise AssertionError("reply is resolved to a concrete intent before execution")


REPLY_INTENT: Intent[ReplyArgs] = Intent(
    name=REPLY,
    description="Answer on the event's own thread: the Slack thread, the GitHub issue or pull "
                "request, or the ClickUp task the work came from.",
    args=ReplyArgs,
    resource=lambda a: "",
    secret=None,
    execute=_never,
    writes=True,  # counted as the intent it becomes (slack_reply, github_comment, ...)
)
