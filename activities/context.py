"""Context-engine activities: remember what is said, retrieve context, summarize threads."""

from __future__ import annotations

import dataclasses

import asyncpg
from temporalio import activity

from infra.context import KnowledgeStore, Summarizer, ThreadToSummarize, summarize_thread
from workflows.contracts import (
    ContextBundle,
    EventKind,
    Provider,
    StandardEvent,
    SummaryStored,
    ThreadRef,
    ThreadsDue,
)

_PROJECT_OF = """
SELECT m.project_id FROM project_mappings m
JOIN unnest($2::text[], $3::text[]) AS h(provider, external_id)
  ON h.provider = m.provider AND h.external_id = m.external_id
WHERE m.tenant_id = $1 ORDER BY m.project_id LIMIT 1
"""


class ContextActivities:
    """The knowledge store, as activities."""

    def __init__(self, pool: asyncpg.Pool, store: KnowledgeStore, summarizer: Summarizer) -> None:
        self._pool = pool
        self._store = store
        self._summarizer = summarizer

    async def _project(self, event: StandardEvent) -> str | None:
        hints = event.project_hints
        project: str | None = await self._pool.fetchval(
            _PROJECT_OF, event.tenant_id, [h.provider.value for h in hints],
            [h.external_id for h in hints])
        return project

    async def gather(self, event: StandardEvent, token_budget: int) -> ContextBundle:
        """The most relevant threads, summaries and the project README for an event (read by
        the prepare_event activity)."""
        text = "\n".join(t for t in (event.title, event.text) if t)
        if not text or token_budget <= 0:
            return ContextBundle()
        items = await self._store.context_for(event.tenant_id, await self._project(event), text,
                                              token_budget)
        return ContextBundle(items=items)

    @activity.defn(name="remember_event")
    async def remember_event(self, event: StandardEvent) -> None:
        """Store a human chat message as thread history (idempotent per message)."""
        ts = event.facts.get("ts")
        if (event.provider is not Provider.SLACK or event.kind is EventKind.IGNORE
                or event.ref is None or not event.ref.container or not ts or not event.text):
            return
        await self._store.remember_message(
            event.tenant_id, await self._project(event), event.ref.container,
            event.ref.item or str(ts), str(ts), event.actor.id if event.actor and event.actor.id
            else "unknown", event.text, event.url)

    @activity.defn(name="threads_to_summarize")
    async def threads_to_summarize(self) -> ThreadsDue:
        """Threads over the threshold that grew since their last summary."""
        due = await self._store.threads_to_summarize()
        return ThreadsDue(threads=[ThreadRef(**dataclasses.asdict(t)) for t in due])

    @activity.defn(name="summarize_thread")
    async def summarize_thread(self, thread: ThreadRef) -> SummaryStored:
        """Summarize one thread and store the summary as a searchable document."""
        document_id = await summarize_thread(
            self._store, ThreadToSummarize(**thread.model_dump()), self._summarizer)
        return SummaryStored(document_id=document_id, messages=thread.message_count)
