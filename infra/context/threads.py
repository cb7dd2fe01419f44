"""Threads of every source: messages as ingested, the thread document built from them, summaries.

A thread is (tenant, provider, container, item): a Slack channel and thread ts, a GitHub repo and
issue/PR number, a ClickUp list and task id. A message is named by its provider's id in the
container (Slack ts, GitHub comment id or ``issue-<n>`` for the body, ClickUp comment id); an
edit replaces its text, a deletion removes it, and the thread document is rebuilt each time.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from infra.context.documents import DocumentInput, DocumentWriter
from infra.context.thread_model import (
    THREAD_SOURCES,
    Message,
    ThreadDocument,
    ThreadKey,
    ThreadToSummarize,
    thread_body,
    thread_title,
    where,
)
from infra.database import delete_in_batches

# A message without a project takes its container's mapped project (repo, channel or list).
_UPSERT_MESSAGE = """
INSERT INTO thread_messages (tenant_id, provider, container, message_id, item, project_id,
  user_id, text, url, author_kind)
VALUES ($1, $2, $3, $4, $5, coalesce($6, (SELECT m.project_id FROM project_mappings m
  WHERE m.tenant_id = $1 AND m.provider = $2 AND m.external_id = $3 LIMIT 1)), $7, $8, $9, $10)
ON CONFLICT (tenant_id, provider, container, message_id) DO UPDATE SET text = EXCLUDED.text,
  user_id = CASE WHEN thread_messages.author_kind = 'agent' THEN thread_messages.user_id
                 ELSE EXCLUDED.user_id END,
  author_kind = CASE WHEN thread_messages.author_kind = 'agent' THEN 'agent'
                     ELSE EXCLUDED.author_kind END,
  url = coalesce(EXCLUDED.url, thread_messages.url),
  project_id = coalesce(EXCLUDED.project_id, thread_messages.project_id), received_at = now()
WHERE (thread_messages.text, thread_messages.user_id, thread_messages.author_kind)
      IS DISTINCT FROM (EXCLUDED.text, EXCLUDED.user_id, EXCLUDED.author_kind)
"""

# A GitHub issue's body first; Slack ts values ("1700000000.000100") and GitHub/ClickUp comment
# ids sort as numbers; anything else sorts after, as text.
_MESSAGES = """
SELECT message_id, user_id, text, url, project_id, author_kind FROM thread_messages
WHERE tenant_id = $1 AND provider = $2 AND container = $3 AND item = $4
ORDER BY message_id NOT LIKE 'issue-%',
  CASE WHEN message_id ~ '^[0-9]{1,20}(\\.[0-9]{1,20})?$' THEN message_id::numeric END NULLS LAST,
  message_id
"""

_TO_SUMMARIZE = """
SELECT id, tenant_id, project_id, source, source_key, title, url, message_count,
  summarized_message_count
FROM context_documents
WHERE source = ANY($4::text[]) AND message_count > summarized_message_count
  AND message_count >= $1 AND ($2::text IS NULL OR tenant_id = $2)
ORDER BY message_count - summarized_message_count DESC, id LIMIT $3
"""


def _message(row: asyncpg.Record) -> Message:
    return Message(row["message_id"], row["user_id"], row["text"], row["author_kind"] == "agent")


class Threads:
    """Thread memory on top of the document writer."""

    def __init__(self, pool: asyncpg.Pool, writer: DocumentWriter) -> None:
        self._pool = pool
        self._writer = writer

    async def store(self, tenant_id: str, project_id: str | None, key: ThreadKey,
                    message_id: str, user: str, text: str, url: str | None, *,
                    agent: bool = False) -> None:
        """Store (or edit) a message only, without rebuilding its thread's document (a
        redelivery changes nothing). A message once marked an agent's stays the agent's."""
        await self._pool.execute(_UPSERT_MESSAGE, tenant_id, key.provider, key.container,
                                 message_id, key.item, project_id, user, text, url,
                                 "agent" if agent else "human")

    async def remember(self, tenant_id: str, project_id: str | None, key: ThreadKey,
                       message_id: str, user: str, text: str, url: str | None, *,
                       agent: bool = False) -> int:
        """Store (or edit) a message; refresh its thread's document and return its id."""
        await self.store(tenant_id, project_id, key, message_id, user, text, url, agent=agent)
        # Always refresh: when a previous attempt stored the message but failed before the
        # document was rewritten, the retry repairs it; an unchanged body costs one read.
        found = await self.refresh(tenant_id, key)
        assert found is not None  # the message was just stored
        return found

    async def forget(self, tenant_id: str, key: ThreadKey, message_id: str) -> int | None:
        """Remove a deleted message and refresh its thread; the thread document's id, or None
        when the thread has no message left (its document and summary are gone too)."""
        item = await self._pool.fetchval(
            "DELETE FROM thread_messages WHERE tenant_id = $1 AND provider = $2"
            " AND container = $3 AND message_id = $4 RETURNING item",
            tenant_id, key.provider, key.container, message_id)
        return await self.refresh(tenant_id, ThreadKey(key.provider, key.container,
                                                       item or key.item))

    async def container_of(self, tenant_id: str, provider: str, item: str) -> str | None:
        """The container of a known thread named by its item alone (a ClickUp task's list)."""
        found: str | None = await self._pool.fetchval(
            "SELECT container FROM thread_messages WHERE tenant_id = $1 AND provider = $2"
            " AND item = $3 LIMIT 1", tenant_id, provider, item)
        return found

    async def refresh(self, tenant_id: str, key: ThreadKey) -> int | None:
        """Rebuild the thread document from its messages; return its id (None: no messages,
        and the document and its summary are deleted).

        A per-thread advisory lock orders concurrent refreshes of one thread, so the last one
        to write has read every committed message.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               f"thread/{tenant_id}/{key.source}/{key.source_key}")
            rows = await conn.fetch(_MESSAGES, tenant_id, key.provider, key.container, key.item)
            if not rows:
                for source in (key.source, "summary"):
                    await self._writer.delete(tenant_id, source, key.source_key, conn)
                return None
            messages = [_message(r) for r in rows]
            url = next((r["url"] for r in rows if r["url"]), None)
            project = next((r["project_id"] for r in reversed(rows) if r["project_id"]), None)
            doc = DocumentInput(
                tenant_id=tenant_id, project_id=project, source=key.source,
                source_key=key.source_key, title=thread_title(where(key), messages), url=url,
                text=thread_body(messages), message_count=len(messages))
            return await self._writer.upsert(doc, conn)

    async def document(self, tenant_id: str, key: ThreadKey) -> ThreadDocument | None:
        """The thread's stored document, if any message of it was remembered."""
        row = await self._pool.fetchrow(
            "SELECT id, title, url, body FROM context_documents WHERE tenant_id = $1"
            " AND source = $2 AND source_key = $3", tenant_id, key.source, key.source_key)
        return None if row is None else ThreadDocument(row["id"], row["title"], row["url"],
                                                        row["body"])

    async def messages(self, tenant_id: str, key: ThreadKey) -> list[Message]:
        """A thread's messages in order."""
        rows = await self._pool.fetch(_MESSAGES, tenant_id, key.provider, key.container,
                                      key.item)
        return [_message(r) for r in rows]

    async def to_summarize(self, min_messages: int, tenant_id: str | None = None,
                           limit: int = 100) -> list[ThreadToSummarize]:
        """Threads (Slack threads, GitHub issues and pull requests, ClickUp tasks) with at least
        ``min_messages`` messages that grew since their summary."""
        providers = {source: provider for provider, source in THREAD_SOURCES.items()}
        rows = await self._pool.fetch(_TO_SUMMARIZE, min_messages, tenant_id, limit,
                                      list(providers))
        found = []
        for r in rows:
            provider = providers[r["source"]]
            key = r["source_key"]  # Slack's "channel:ts", the others' "provider:container:item"
            channel, _, item = (key if provider == "slack" else key.partition(":")[2]
                                ).rpartition(":")
            found.append(ThreadToSummarize(
                document_id=r["id"], tenant_id=r["tenant_id"], project_id=r["project_id"],
                channel=channel, thread_ts=item, title=r["title"], url=r["url"],
                message_count=r["message_count"],
                summarized_message_count=r["summarized_message_count"], provider=provider))
        return found

    async def store_summary(self, thread_document_id: int, summary: str,
                            message_count: int) -> int:
        """Store (or replace) the thread's summary document; mark the thread summarized at
        ``message_count`` messages. Returns the summary document's id."""
        thread = await self._pool.fetchrow(
            "SELECT tenant_id, project_id, source_key, title, url FROM context_documents"
            " WHERE id = $1 AND source = ANY($2::text[])", thread_document_id,
            list(THREAD_SOURCES.values()))
        if thread is None:
            raise LookupError(f"no thread document {thread_document_id}")
        summary_id = await self._writer.upsert(DocumentInput(
            tenant_id=thread["tenant_id"], project_id=thread["project_id"], source="summary",
            source_key=thread["source_key"], title=f"Summary of {thread['title']}",
            url=thread["url"], text=summary, message_count=message_count,
            summary_of=thread_document_id))
        await self._writer.mark_summarized(thread_document_id, message_count)
        return summary_id


async def prune_messages(pool: asyncpg.Pool, tenant_id: str, before: datetime, batch: int
                         ) -> int:
    """Delete a tenant's thread messages last received before ``before``; return how many.

    Retention: the thread documents built from them (and their summaries) stay searchable; a
    thread that grows again is rebuilt from the messages still kept.
    """
    return await delete_in_batches(
        pool, "DELETE FROM thread_messages WHERE ctid = ANY(ARRAY(SELECT ctid FROM thread_messages"
        " WHERE tenant_id = $1 AND received_at < $2 LIMIT $3))", tenant_id, before, batch=batch)
