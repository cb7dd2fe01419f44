"""Pure helpers of SessionWorkflow: a turn's messages and event, and folding old turns.

Deterministic (no clock, no tokenizer): tokens are estimated as characters / 4, which is close to
cl100k_base on English prose and needs nothing outside the workflow.
"""

from __future__ import annotations

from workflows.contracts.agents import AgentOutcome
from workflows.contracts.conversation import ConversationTurn, SessionMessage, ToolLog
from workflows.contracts.events import StandardEvent
from workflows.contracts.sessions import SessionState, SessionSubmit

MAX_RECENT = 20  # turns kept word for word, whatever the budget
SUMMARY_CHARS = 2000  # the folded summary keeps its newest lines within this
LINE_CHARS = 160


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (characters / 4, at least 1)."""
    return max(1, len(text) // 4)


def turn_tokens(turn: ConversationTurn) -> int:
    """About how many tokens a turn costs a think."""
    parts = [m.text for m in turn.messages] + [turn.answer or ""]
    parts += [f"{t.name} {t.result}" for t in turn.tool_calls]
    return sum(estimate_tokens(p) for p in parts)


def message_of(sub: SessionSubmit, at: str) -> SessionMessage:
    """The message an event brings to the conversation."""
    event = sub.event
    actor = event.actor
    author = (actor.name or actor.id) if actor else None
    text = (event.text or event.title or event.source_event).strip()
    return SessionMessage(event_id=sub.event_id, author=author, text=text, at=at)


def in_order(batch: list[SessionSubmit]) -> list[SessionSubmit]:
    """A turn's messages in the order they were received (inbox ids grow with arrival; the
    events' workflows may submit them in another order)."""
    return sorted(batch, key=lambda s: s.event_id if s.event_id is not None else 0)


def turn_event(batch: list[SessionSubmit]) -> StandardEvent:
    """The event a turn answers: the last one, holding every message of a burst in order."""
    last = batch[-1].event
    if len(batch) == 1:
        return last
    text = "\n".join((s.event.text or s.event.title or "").strip() for s in batch)
    return last.model_copy(update={"text": text})


def tool_log(outcome: AgentOutcome) -> list[ToolLog]:
    """What the turn's tools did (the run returns it for session turns)."""
    return list(outcome.tool_log)


def answer_of(outcome: AgentOutcome) -> str | None:
    """The turn's answer as the next think sees it (a failure says what failed)."""
    if outcome.final is not None:
        return outcome.final
    return f"(no answer: {outcome.status}{': ' + outcome.error if outcome.error else ''})"


def fold(summary: str | None, recent: list[ConversationTurn], budget: int
         ) -> tuple[str | None, list[ConversationTurn]]:
    """Fold the oldest turns into the summary until the rest fit ``budget`` tokens (one turn,
    the newest, is always kept) and at most ``MAX_RECENT`` remain."""
    kept = list(recent)
    while len(kept) > 1 and (len(kept) > MAX_RECENT or sum(map(turn_tokens, kept)) > budget):
        summary = _folded(summary, kept.pop(0))
    return summary, kept


def _line(turn: ConversationTurn) -> str:
    """One turn in one summary line: who said what, the answer, the tools used."""
    said = " / ".join(f"{m.author or 'someone'}: {m.text}" for m in turn.messages)
    line = f"turn {turn.turn}: {said} -> {turn.answer or '(no answer)'}"
    if turn.tool_calls:
        line += f" [tools: {', '.join(t.name for t in turn.tool_calls)}]"
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS - 1] + "…"


def _folded(summary: str | None, turn: ConversationTurn) -> str:
    lines = ([] if summary is None else summary.splitlines()) + [_line(turn)]
    while len(lines) > 1 and sum(len(x) + 1 for x in lines) > SUMMARY_CHARS:
        lines.pop(0)
    return "\n".join(lines)


def episode(summary: str | None, recent: list[ConversationTurn], thread: str, turns: int) -> str:
    """The episodic summary a closed session leaves in the agent's memory."""
    for turn in recent:
        summary = _folded(summary, turn)
    return f"Session on {thread} ({turns} turns):\n{summary or '(nothing said)'}"


def episode_part(summary: str | None, recent: list[ConversationTurn], thread: str,
                 first: int, last: int) -> str:
    """The episodic summary of turns ``first`` to ``last`` of a long session (written every N
    turns): their lines still in the folded summary, then the turns kept word for word."""
    lines = [line for line in (summary or "").splitlines()
             if first <= _turn_of(line) <= last]
    lines += [_line(t) for t in recent if first <= t.turn <= last]
    while len(lines) > 1 and sum(len(x) + 1 for x in lines) > SUMMARY_CHARS:
        lines.pop(0)
    said = "\n".join(lines) or "(nothing said)"
    return f"Session on {thread}, turns {first}-{last}:\n{said}"


def closing_episode(state: SessionState, thread: str) -> str:
    """What a closing session leaves: the whole session, or the turns after the last episode
    written every N turns."""
    if not state.episodes_upto:
        return episode(state.summary, state.recent, thread, state.turns)
    return episode_part(state.summary, state.recent, thread, state.episodes_upto + 1, state.turns)


def _turn_of(line: str) -> int:
    """The turn a summary line tells (``turn 7: ...``), 0 if none."""
    head, _, _ = line.partition(": ")
    number = head.removeprefix("turn ")
    return int(number) if head.startswith("turn ") and number.isdigit() else 0
