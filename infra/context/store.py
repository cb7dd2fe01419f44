"""The knowledge store: documents and threads in, tenant-filtered context out.

Every read takes a tenant id and every statement filters on it: a tenant never sees another
tenant's documents, chunks or threads, whatever their vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from infra.context.bundle import best_per_document, fit_to_budget, thread_item
from infra.context.chunking import Chunker
from infra.context.documents import DocumentInput, DocumentWriter
from infra.context.embedders import Embedder, SharedEmbeddings
from infra.context.search import Hit, Method, SearchTuning, TenantSearch
from infra.context.thread_model import Message, ThreadKey, ThreadToSummarize
from infra.context.threads import Threads
from infra.settings import ContextSettings
from workflows.contracts.agents import ContextItem

MEMORY_SOURCES = ("slack_thread", "github_thread", "clickup_thread", "summary", "clickup_task",
                  "document")


class DimensionMismatchError(RuntimeError):
    """The embedder's vectors do not fit the database column (a migration is needed)."""


class KnowledgeStore:
    """Documents, thread memory and tenant-filtered vector search over one pool."""

    def __init__(self, pool: asyncpg.Pool, embedder: Embedder, settings: ContextSettings) -> None:
        self._pool = pool
        self._embedder = embedder
        self._settings = settings
        self._writer = DocumentWriter(
            pool, embedder, Chunker(settings.chunk_tokens, settings.chunk_overlap))
        self._threads = Threads(pool, self._writer)
        self._search = TenantSearch(pool, SearchTuning(
            ef_search=settings.ef_search, candidates=settings.hnsw_candidates))
        self._verified = False

    @property
    def plans(self) -> dict[str, int]:
        """How many searches each plan answered: exact, hnsw, fallback (hnsw came up short)."""
        return dict(self._search.plans)

    async def verify(self) -> None:
        """Check the embedder's dimension against the column; raise DimensionMismatchError."""
        column = await self._pool.fetchval(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'context_chunks'::regclass AND attname = 'embedding'")
        if column != f"vector({self._embedder.dimension})":
            raise DimensionMismatchError(
                f"embedder {self._embedder.model} makes {self._embedder.dimension} floats but"
                f" context_chunks.embedding is {column}: see migration 0006_context.sql")
        self._verified = True

    async def add_document(self, tenant_id: str, project_id: str | None, source: str,
                           source_key: str, title: str, url: str | None, text: str) -> int:
        """Store or update a document (upsert by tenant, source, source_key); return its id."""
        await self._check()
        return await self._writer.upsert(DocumentInput(
            tenant_id=tenant_id, project_id=project_id, source=source, source_key=source_key,
            title=title, url=url, text=text))

    async def remember_message(self, tenant_id: str, project_id: str | None, channel: str,
                               thread_ts: str, ts: str, user: str, text: str,
                               url: str | None = None) -> int:
        """Store a Slack message and refresh its thread document (idempotent); return the
        thread document's id."""
        return await self.remember(tenant_id, project_id, ThreadKey("slack", channel, thread_ts),
                                   ts, user, text, url)

    async def remember(self, tenant_id: str, project_id: str | None, key: ThreadKey,
                       message_id: str, user: str, text: str, url: str | None = None, *,
                       agent: bool = False) -> int:
        """Store (or edit) a message of any source's thread and refresh the thread document
        (idempotent); ``agent`` marks one of our agents' own. Returns the document's id."""
        await self._check()
        return await self._threads.remember(tenant_id, project_id, key, message_id, user, text,
                                            url, agent=agent)

    async def store_message(self, tenant_id: str, project_id: str | None, key: ThreadKey,
                            message_id: str, user: str, text: str, url: str | None = None, *,
                            agent: bool = False) -> None:
        """Store (or edit) a message without rebuilding its thread document (about a
        millisecond; :meth:`refresh_thread` later, or the thread's next message, rebuilds it)."""
        await self._threads.store(tenant_id, project_id, key, message_id, user, text, url,
                                  agent=agent)

    async def refresh_thread(self, tenant_id: str, key: ThreadKey) -> int | None:
        """Rebuild (re-chunk, re-embed what changed) a thread's document from its messages."""
        await self._check()
        return await self._threads.refresh(tenant_id, key)

    async def forget(self, tenant_id: str, key: ThreadKey, message_id: str) -> int | None:
        """Remove a deleted message from its thread; the thread document's id, or None when
        the thread is left empty (and is gone from memory)."""
        await self._check()
        return await self._threads.forget(tenant_id, key, message_id)

    async def container_of(self, tenant_id: str, provider: str, item: str) -> str | None:
        """The container (a ClickUp task's list) of a thread known by its item."""
        return await self._threads.container_of(tenant_id, provider, item)

    async def store_readme(self, tenant_id: str, project_id: str | None, repo: str, text: str,
                           url: str | None) -> int:
        """Store a repository's README as its project's README (what a manual upload of
        source ``readme`` and key ``owner/name`` stores); return the document's id."""
        return await self.add_document(tenant_id, project_id, "readme", repo,
                                       f"{repo} README", url, text)

    async def search(self, tenant_id: str, query: str, k: int = 5,
                     project_id: str | None = None,
                     sources: Sequence[str] | None = None) -> list[ContextItem]:
        """The tenant's ``k`` chunks most relevant to ``query``, most relevant first."""
        hits = await self.nearest(tenant_id, await self.embed_query(query), k,
                                  project_id=project_id, sources=sources)
        return [hit.item() for hit in hits]

    async def nearest(self, tenant_id: str, vector: Sequence[float], k: int = 5, *,
                      project_id: str | None = None, sources: Sequence[str] | None = None,
                      method: Method = "auto") -> list[Hit]:
        """The tenant's ``k`` chunks closest to ``vector``; ``method='exact'`` skips the index."""
        await self._check()
        return await self._search.nearest(tenant_id, vector, k, project_id=project_id,
                                          sources=sources, method=method)

    async def embed_query(self, query: str) -> list[float]:
        """The query's vector."""
        return (await self._embedder.embed([query]))[0]

    async def context_for(self, tenant_id: str, project_id: str | None, query: str,
                          token_budget: int, threads: int = 5,
                          thread: ThreadKey | None = None,
                          shared: SharedEmbeddings | None = None) -> list[ContextItem]:
        """The bundle for a dispatch: the event's own ``thread`` first, by reference (at most
        half the budget), then the project README's most relevant part (at most half of what is
        left), then the ``threads`` most relevant threads, summaries and tasks of the tenant
        (never the own thread again), cut to ``token_budget`` tokens in all. ``shared`` embeds
        the query when the same job embeds it elsewhere too (an event's memory recalls)."""
        first: list[ContextItem] = []
        own = await self._threads.document(tenant_id, thread) if thread is not None else None
        if own is not None and thread is not None:
            item = thread_item(thread, own, token_budget // 2)
            first = [item] if item is not None else []
        left = token_budget - sum(i.tokens for i in first)
        if not query or not await self._pool.fetchval(  # nothing remembered: skip the embedding
                "SELECT EXISTS (SELECT 1 FROM context_chunks WHERE tenant_id = $1)", tenant_id):
            return first
        vector = (await shared.embed([query]))[0] if shared else await self.embed_query(query)
        readme: list[Hit] = []
        if project_id is not None:
            readme = await self.nearest(tenant_id, vector, 1, project_id=project_id,
                                        sources=["readme"])
        memory = await self.nearest(tenant_id, vector, threads * 3 + 1, sources=MEMORY_SOURCES)
        memory = [h for h in memory if own is None or h.document_id != own.id]
        caps = {hit.chunk_id: left // 2 for hit in readme}  # leave room for threads
        return [*first, *fit_to_budget([*readme, *best_per_document(memory, threads)], left,
                                       caps)]

    async def threads_to_summarize(self, min_messages: int | None = None,
                                   tenant_id: str | None = None,
                                   limit: int = 100) -> list[ThreadToSummarize]:
        """Threads over the threshold (default: settings' 51 messages) that grew since their
        last summary, the most grown first."""
        threshold = min_messages or self._settings.summary_min_messages
        return await self._threads.to_summarize(threshold, tenant_id, limit)

    async def thread_messages(self, tenant_id: str, channel: str,
                              thread_ts: str, provider: str = "slack") -> list[Message]:
        """A thread's messages in order (what a summarizer reads)."""
        return await self._threads.messages(tenant_id, ThreadKey(provider, channel, thread_ts))

    async def store_summary(self, thread_document_id: int, summary: str,
                            message_count: int) -> int:
        """Store the thread's summary as a searchable document linked to it; return its id."""
        await self._check()
        return await self._threads.store_summary(thread_document_id, summary, message_count)

    async def _check(self) -> None:
        """Verify the dimension once per store."""
        if not self._verified:
            await self.verify()
