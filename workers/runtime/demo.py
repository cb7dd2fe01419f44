"""The offline demo policy: a deterministic, clearly labelled answer, no LLM and no key."""

from __future__ import annotations

from workflows.contracts import StandardEvent
from workflows.contracts.conversation import Conversation

DEMO_LABEL = "[demo agent: deterministic offline policy, no LLM]"


def demo_answer(agent_id: str, event: StandardEvent,
                conversation: Conversation | None = None) -> str:
    """What the demo policy answers for an event; in a session, also which turn it answers and
    what it was told before (so continuity shows without an LLM)."""
    subject = event.title or (event.text or "").strip()[:120] or event.source_event
    where = event.ref.container if event.ref and event.ref.container else event.provider.value
    who = event.actor.name if event.actor and event.actor.name else "someone"
    link = f" <{event.url}>" if event.url else ""
    kind = event.kind.value
    answer = f"{DEMO_LABEL} {agent_id} received {kind} in {where} from {who}: {subject!r}{link}"
    if conversation is None:
        return answer
    return f"{answer}\n{continuity(conversation)}"


def continuity(conversation: Conversation) -> str:
    """Which turn of the session this is, and what was said in the turns before."""
    told = [m.text.strip()[:80] for t in conversation.turns for m in t.messages]
    if conversation.turn <= 1 or not (told or conversation.summary):
        return f"This is turn {conversation.turn} of our conversation; nothing was said before."
    before = "; ".join(repr(t) for t in told)
    folded = " (and earlier turns, summarized)" if conversation.summary else ""
    last = next((t.answer for t in reversed(conversation.turns) if t.answer), None)
    first = (last or "").removeprefix(DEMO_LABEL).strip()[:80]
    answered = f" My last answer began: {first!r}." if first else ""
    return (f"This is turn {conversation.turn} of our conversation. Before, I was told: "
            f"{before}{folded}.{answered}")
