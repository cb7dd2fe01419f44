"""The offline demo policy: a deterministic, clearly labelled answer, no LLM and no key."""

from __future__ import annotations

from workflows.contracts import StandardEvent

DEMO_LABEL = "[demo agent: deterministic offline policy, no LLM]"


def demo_answer(agent_id: str, event: StandardEvent) -> str:
    """What the demo policy answers for an event."""
    subject = event.title or (event.text or "").strip()[:120] or event.source_event
    where = event.ref.container if event.ref and event.ref.container else event.provider.value
    who = event.actor.name if event.actor and event.actor.name else "someone"
    link = f" <{event.url}>" if event.url else ""
    kind = event.kind.value
    return f"{DEMO_LABEL} {agent_id} received {kind} in {where} from {who}: {subject!r}{link}"
