"""The context bundle attached to a dispatch: the event's own thread first (by reference), the
project README, then the most relevant memory."""

from __future__ import annotations

from collections.abc import Iterable

from infra.context.chunking import count_tokens, truncate_tokens
from infra.context.search import Hit
from infra.context.thread_model import ThreadDocument, ThreadKey
from workflows.contracts.agents import ContextItem

MIN_ITEM_TOKENS = 32


def best_per_document(hits: Iterable[Hit], limit: int) -> list[Hit]:
    """The closest hit of each document, closest documents first, at most ``limit``."""
    best: dict[int, Hit] = {}
    for hit in hits:
        held = best.get(hit.document_id)
        if held is None or hit.distance < held.distance:
            best[hit.document_id] = hit
    return sorted(best.values(), key=lambda h: (h.distance, h.chunk_id))[:limit]


def fit_to_budget(hits: Iterable[Hit], token_budget: int,
                  caps: dict[int, int] | None = None) -> list[ContextItem]:
    """Context items in the given order, each cut to what the budget has left (and to its cap
    in ``caps``, by chunk id); an item that would get fewer than 32 tokens is left out."""
    items: list[ContextItem] = []
    left = token_budget
    for hit in hits:
        room = min(left, (caps or {}).get(hit.chunk_id, left))
        if room < min(MIN_ITEM_TOKENS, hit.tokens) or room <= 0:
            continue
        item = hit.item()
        if item.tokens > room:
            text = truncate_tokens(item.text, room)
            item = item.model_copy(update={"text": text, "tokens": count_tokens(text)})
        items.append(item)
        left -= item.tokens
    return items


def thread_item(key: ThreadKey, doc: ThreadDocument, cap: int) -> ContextItem | None:
    """The event's own thread as the bundle's first item, cut to ``cap`` tokens: its first line
    (what the thread is about) and its latest lines; None if fewer than 32 tokens fit."""
    text, tokens = doc.body, count_tokens(doc.body)
    if tokens > cap:
        if cap < MIN_ITEM_TOKENS:
            return None
        lines = doc.body.splitlines()
        head = truncate_tokens(lines[0], cap // 4)
        room, tail = cap - count_tokens(head) - 2, list[str]()
        for line in reversed(lines[1:]):
            cost = count_tokens(line) + 1
            if cost > room:
                break
            tail.insert(0, line)
            room -= cost
        text = truncate_tokens("\n".join([head, "…", *tail]), cap)
        tokens = count_tokens(text)
    return ContextItem(source=key.context_key, title=doc.title, url=doc.url, text=text,
                       score=1.0, tokens=tokens)
