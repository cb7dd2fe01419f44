"""What one event of a mirrored pair becomes: the writes on the other side, or none.

ClickUp to Slack: a task created opens a thread (its root names the task, with its link); a
comment becomes a reply in the task's thread and a status change a line in it (a thread is
opened first for a task the mirror has not seen yet). Slack to ClickUp: a reply in a task's
thread becomes a comment on the task. A comment or reply the mirror wrote itself, arriving back
as a webhook, is an echo and becomes nothing. Everything else is left alone.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from infra.mirror import store
from workflows.contracts import EventKind, Provider, StandardEvent
from workflows.contracts.mirror import MirrorInput, MirrorPlan, MirrorWrite


def root_text(event: StandardEvent, task_id: str) -> str:
    """The root message of a task's thread: the task's name and its link."""
    name = event.title or f"ClickUp task {task_id}"
    url = event.url or f"https://app.clickup.com/t/{task_id}"
    return f":clipboard: New ClickUp task: *{name}*\n{url}"


def status_text(event: StandardEvent) -> str:
    """A status change as a line in the task's thread."""
    if event.facts.get("new_state") == "deleted":
        return ":wastebasket: The task was deleted in ClickUp"
    before, after = event.facts.get("from"), event.facts.get("to") or event.facts.get("status")
    who = event.actor.name if event.actor and event.actor.name else "someone"
    return f":arrows_counterclockwise: Status: {before or '?'} → {after or '?'} (by {who})"


def _who(event: StandardEvent) -> str:
    actor = event.actor
    return (actor.name or actor.id or "someone") if actor else "someone"


class _Write(Protocol):
    """Makes one write of the event (named after it and its action)."""

    def __call__(self, action: str, task_id: str, text: str) -> MirrorWrite:
        """The write."""


class MirrorPlanner:
    """Turns an event of a mirrored pair into writes, reading the id map."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def plan(self, inp: MirrorInput, key: str) -> MirrorPlan:
        """The writes ``inp.event`` needs; ``key`` names them (the event's workflow id)."""
        event, pair = inp.event, inp.pair
        ref = event.ref
        if ref is None or not ref.container or not ref.item:
            return MirrorPlan(reason="no thread or task to mirror")

        def write(action: str, task_id: str, text: str) -> MirrorWrite:
            return MirrorWrite.model_validate({
                "key": f"mirror/{key}/{action}", "tenant_id": event.tenant_id,
                "project_id": pair.project_id, "action": action, "task_id": task_id,
                "list_id": pair.list_id, "channel": pair.channel, "text": text})

        if event.provider is Provider.CLICKUP and ref.container == pair.list_id:
            return await self._from_clickup(event, ref.item, write)
        if event.provider is Provider.SLACK and ref.container == pair.channel:
            return await self._from_slack(event, ref.container, ref.item, write)
        return MirrorPlan(reason="not in the mirrored list or channel")

    async def _from_clickup(self, event: StandardEvent, task_id: str, write: _Write
                            ) -> MirrorPlan:
        thread = await store.thread_of_task(self._pool, event.tenant_id, task_id)
        opening = [] if thread is not None else [write("open_thread", task_id,
                                                       root_text(event, task_id))]
        if event.kind is EventKind.NEW_WORK_ITEM:
            return MirrorPlan(writes=opening, reason="task created: its thread" if opening
                              else "the task's thread is open already")
        if event.kind is EventKind.COMMENT:
            comment_id = event.facts.get("comment_id")
            if not comment_id or not event.text:
                return MirrorPlan(reason="a comment without id or text")
            if await store.is_echo(self._pool, event.tenant_id, "clickup", str(comment_id),
                                   task_id, event.text):
                return MirrorPlan(reason=f"echo: comment {comment_id} was written by the mirror")
            text = f"*{_who(event)}* on ClickUp: {event.text}"
            return MirrorPlan(writes=[*opening, write("slack_reply", task_id, text)],
                              reason=f"comment {comment_id} to the task's thread")
        if event.kind is EventKind.STATUS_CHANGE:
            return MirrorPlan(writes=[*opening, write("slack_reply", task_id, status_text(event))],
                              reason="status change to the task's thread")
        return MirrorPlan(reason=f"ClickUp {event.source_event} is not mirrored")

    async def _from_slack(self, event: StandardEvent, channel: str, thread_ts: str,
                          write: _Write) -> MirrorPlan:
        ts = event.facts.get("ts")
        if event.kind is not EventKind.COMMENT or not ts or not event.text \
                or event.facts.get("subtype") == "message_changed":
            return MirrorPlan(reason=f"Slack {event.source_event} is not a new thread reply")
        thread = await store.task_of_thread(self._pool, event.tenant_id, channel, thread_ts)
        if thread is None:
            return MirrorPlan(reason="the thread mirrors no ClickUp task")
        if await store.is_echo(self._pool, event.tenant_id, "slack", str(ts), thread.task_id,
                               event.text):
            return MirrorPlan(reason=f"echo: reply {ts} was written by the mirror")
        text = f"{_who(event)} on Slack: {event.text}"
        return MirrorPlan(writes=[write("clickup_comment", thread.task_id, text)],
                          reason=f"reply {ts} to task {thread.task_id}")


