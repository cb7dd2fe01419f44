"""Thread summaries: extractive and offline by default, or written by an OpenAI chat model."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

import numpy as np

from infra.context.chunking import count_tokens, truncate_tokens
from infra.context.embedders import Embedder
from infra.context.thread_model import Message, ThreadToSummarize, thread_body

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from infra.context.store import KnowledgeStore
    from infra.settings import ContextSettings

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
MIN_WORDS = 3
REDUNDANCY = 0.3  # maximal marginal relevance: weight of similarity to sentences already kept
PROMPT_TOKENS = 12_000


class Summarizer(Protocol):
    """Writes a summary of a thread."""

    async def summarize(self, title: str, messages: list[Message]) -> str:
        """A summary of ``messages`` (already in thread order)."""
        ...


class ExtractiveSummarizer:
    """The thread's most central sentences (closest to the mean of all sentence vectors, with
    near-repeats held back), in thread order, capped in tokens. Deterministic, offline."""

    def __init__(self, embedder: Embedder, max_tokens: int = 300) -> None:
        self._embedder = embedder
        self._max_tokens = max_tokens

    async def summarize(self, title: str, messages: list[Message]) -> str:
        """The summary: a header line, then one ``- user: sentence`` line per kept sentence."""
        units = [(m.user or "someone", s.strip()) for m in messages
                 for s in _SENTENCE.split(m.text) if len(s.split()) >= MIN_WORDS]
        people = sorted({m.user for m in messages if m.user})
        header = (f"Summary of a {len(messages)}-message thread: {title}."
                  f" Participants: {', '.join(people) or 'unknown'}.")
        if not units:
            return header
        vectors = np.asarray(await self._embedder.embed([s for _, s in units]), dtype=np.float32)
        centroid = vectors.mean(axis=0)
        centrality = vectors @ (centroid / max(float(np.linalg.norm(centroid)), 1e-12))
        budget = self._max_tokens - count_tokens(header)
        kept: list[int] = []
        candidates = set(range(len(units)))
        while candidates and budget > 0:
            def gain(i: int) -> tuple[float, int]:
                repeat = max((float(vectors[i] @ vectors[j]) for j in kept), default=0.0)
                return float(centrality[i]) - REDUNDANCY * repeat, -i
            best = max(candidates, key=gain)
            candidates.discard(best)
            cost = count_tokens(_line(units[best])) + 1
            if cost <= budget:
                kept.append(best)
                budget -= cost
        return "\n".join([header, *(_line(units[i]) for i in sorted(kept))])


def _line(unit: tuple[str, str]) -> str:
    """One summary line."""
    return f"- {unit[0]}: {unit[1]}"


class OpenAISummarizer:
    """A chat model summarizes the thread (client built with ``max_retries=0``)."""

    def __init__(self, client: AsyncOpenAI, model: str, max_tokens: int = 300) -> None:
        self._client = client
        self._model = model
        self._max_tokens = max_tokens

    async def summarize(self, title: str, messages: list[Message]) -> str:
        """The model's summary of the thread (its text cut to 12k tokens, oldest first)."""
        thread = truncate_tokens(thread_body(messages), PROMPT_TOKENS)
        response = await self._client.chat.completions.create(
            model=self._model, temperature=0, max_tokens=self._max_tokens,
            messages=[
                {"role": "system", "content":
                    "Summarize this Slack thread for an engineer who will work on it: the "
                    "problem, decisions, open questions, owners. Plain text, at most "
                    f"{self._max_tokens} tokens, no preamble."},
                {"role": "user", "content": f"Thread: {title}\n\n{thread}"}])
        content = response.choices[0].message.content or ""
        return f"Summary of a {len(messages)}-message thread: {title}.\n{content.strip()}"


def build_summarizer(settings: ContextSettings, embedder: Embedder) -> Summarizer:
    """The summarizer the settings name."""
    if settings.summarizer == "openai":
        from openai import AsyncOpenAI

        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ValueError("SWITCHBOARD_CONTEXT_OPENAI_API_KEY (or OPENAI_API_KEY) is not set")
        client = AsyncOpenAI(api_key=settings.openai_api_key.get_secret_value(),
                             base_url=settings.openai_base_url, max_retries=0,
                             timeout=settings.openai_timeout_seconds)
        return OpenAISummarizer(client, settings.summary_model, settings.summary_tokens)
    return ExtractiveSummarizer(embedder, settings.summary_tokens)


async def summarize_thread(store: KnowledgeStore, thread: ThreadToSummarize,
                           summarizer: Summarizer) -> int:
    """Summarize one listed thread and store the summary; return the summary document's id."""
    messages = await store.thread_messages(thread.tenant_id, thread.channel, thread.thread_ts,
                                           thread.provider)
    summary = await summarizer.summarize(thread.title, messages)
    return await store.store_summary(thread.document_id, summary, len(messages))
