"""``reply``: answer on the event's own source (Slack thread, GitHub issue or PR, ClickUp task).

The agent says what to answer; the gateway knows where from the event. The grant is checked on
``reply`` and the event's container (channel, repo or list); the credential is the one of the
intent the reply becomes.

Whatever an agent posted into a thread (a reply, a Slack message, a GitHub or ClickUp comment) is
remembered in that thread once delivered, marked as the agent's: :class:`RememberReplies` is the
gateway's one hook after a delivered write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from infra.context.thread_model import ThreadKey
from infra.gateway import clickup, github, slack
from infra.gateway.base import ExecutionContext, Intent, Result
from workflows.contracts import GatewayCall, Provider, StandardEvent

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Posted:
    """A message an agent's delivered write put into a thread (container None: not known)."""

    provider: str
    container: str | None
    item: str
    message_id: str
    text: str
    url: str | None = None


def posted_message(args: BaseModel, result: Result, event: StandardEvent | None
                   ) -> Posted | None:
    """The thread message a delivered write made, or None for writes that post none."""
    if isinstance(args, slack.ReplyArgs) and result.get("ts"):
        return Posted("slack", args.channel, args.thread_ts, str(result["ts"]), args.text)
    if isinstance(args, slack.PostMessageArgs) and result.get("ts"):  # a new thread's root
        ts = str(result["ts"])
        return Posted("slack", args.channel, ts, ts, args.text)
    if isinstance(args, github.CommentArgs) and result.get("id") is not None:
        return Posted("github", args.repo, str(args.number), str(result["id"]), args.body,
                      result.get("url"))
    if isinstance(args, github.CreateIssueArgs) and result.get("number") is not None:
        # the issue's first message, named as its issues.opened delivery names it
        number = str(result["number"])
        text = f"{args.title}\n{args.body}".strip()
        return Posted("github", args.repo, number, f"issue-{number}", text, result.get("url"))
    if isinstance(args, clickup.CommentArgs) and result.get("id") is not None:
        ref = event.ref if event is not None and event.provider is Provider.CLICKUP else None
        container = ref.container if ref is not None and ref.item == args.task_id else None
        return Posted("clickup", container, args.task_id, str(result["id"]), args.text)
    return None


class ThreadMemory(Protocol):
    """Where thread messages are remembered (the knowledge store)."""

    async def store_message(self, tenant_id: str, project_id: str | None, key: ThreadKey,
                            message_id: str, user: str, text: str, url: str | None = None, *,
                            agent: bool = False) -> None:
        """Store a message of a thread (its document rebuilt later)."""

    async def refresh_thread(self, tenant_id: str, key: ThreadKey) -> int | None:
        """Rebuild a thread's document from its messages."""

    async def container_of(self, tenant_id: str, provider: str, item: str) -> str | None:
        """The container of a thread known by its item."""


class RememberReplies:
    """After a delivered write: remember what the agent posted in its thread, as the agent's.

    The message row is stored before the call returns (about a millisecond); the thread's
    document is rebuilt in the background, as re-embedding it took 0.6 s at p50 (1.3 s at p99)
    on the loaded 2-core test machine, time the agent's act step would otherwise wait. A rebuild
    lost to a stopped process is made by the thread's next message.
    """

    def __init__(self, memory: ThreadMemory) -> None:
        self._memory = memory
        self._rebuilds: set[asyncio.Task[None]] = set()

    async def __call__(self, call: GatewayCall, args: BaseModel, result: Result) -> None:
        """Remember the posted message; a failure is logged, never the call's (it went out)."""
        posted = posted_message(args, result, call.event)
        if posted is None:
            return
        try:
            container = posted.container or await self._memory.container_of(
                call.tenant_id, posted.provider, posted.item)
            if container is None:  # a ClickUp task we know nothing of: no list to file it in
                return
            key = ThreadKey(posted.provider, container, posted.item)
            await self._memory.store_message(call.tenant_id, None, key, posted.message_id,
                                             call.agent_id, posted.text, posted.url, agent=True)
        except Exception:  # memory is best effort here: the message was delivered
            log.exception("could not remember %s's message in %s thread %s", call.agent_id,
                          posted.provider, posted.item)
            return
        task = asyncio.create_task(self._rebuild(call.tenant_id, key))
        self._rebuilds.add(task)
        task.add_done_callback(self._rebuilds.discard)

    async def settle(self) -> None:
        """Wait for the rebuilds under way (tests, shutdown)."""
        while self._rebuilds:
            await asyncio.gather(*self._rebuilds, return_exceptions=True)

    async def _rebuild(self, tenant_id: str, key: ThreadKey) -> None:
        try:
            await self._memory.refresh_thread(tenant_id, key)
        except Exception:
            log.exception("could not rebuild %s thread %s", key.provider, key.item)
