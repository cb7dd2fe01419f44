"""The agent runtime: a Temporal activity worker polling its agent's own task queue.

Until an LLM is configured (a later issue), the runtime ships one policy: a deterministic
offline demo that acknowledges the work it was given, clearly labelled as such, so the default
stack shows an agent handling events without any API key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.agent_run import THINK_ACTIVITY
from workflows.contracts import StandardEvent, ThinkInput, ThinkOutput
from workflows.ids import agent_task_queue

log = logging.getLogger(__name__)

DEMO_LABEL = "[demo agent: deterministic offline policy, no LLM]"


def demo_answer(agent_id: str, event: StandardEvent) -> str:
    """What the demo policy answers for an event."""
    subject = event.title or (event.text or "").strip()[:120] or event.source_event
    where = event.ref.container if event.ref and event.ref.container else event.provider.value
    who = event.actor.name if event.actor and event.actor.name else "someone"
    link = f" <{event.url}>" if event.url else ""
    kind = event.kind.value
    return f"{DEMO_LABEL} {agent_id} received {kind} in {where} from {who}: {subject!r}{link}"


class DemoAgent:
    """The offline demo policy: answers at once, never calls a tool."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Acknowledge the event with a labelled, deterministic answer."""
        answer = demo_answer(self.agent_id, inp.event)
        log.info("agent %s handled %s: %s", self.agent_id, inp.run_id, answer)
        return ThinkOutput(final=answer)


Think = Callable[[ThinkInput], Awaitable[ThinkOutput]]


def agent_worker(client: Client, agent_id: str, think: Think | None = None) -> Worker:
    """A worker for one agent's queue, running ``think`` (the demo policy by default)."""
    activity_fn = think if think is not None else DemoAgent(agent_id).think
    return Worker(client, task_queue=agent_task_queue(agent_id), activities=[activity_fn])
