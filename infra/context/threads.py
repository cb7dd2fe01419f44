"""Slack threads: messages as ingested, the thread document built from them, and summaries."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from infra.context.documents import DocumentInput, DocumentWriter

TITLE_CHARS = 100


@dataclass(frozen=True)
class Message:
    """One message of a thread, in thread order."""

    ts: str
    user: str
    text: str


@dataclass(frozen=True)
class ThreadToSummarize:
    """A thread that has grown past the threshold since its last summary."""

    document_id: int
    tenant_id: str
    project_id: str | None
    channel: str
    thread_ts: str
    title: str
    url: str | None
    message_count: int
    summarized_message_count: int


def thread_key(channel: str, thread_ts: str) -> str:
    """The source key of a thread document (and of its summary)."""
    return f"{channel}:{thread_ts}"


def thread_body(messages: list[Message]) -> str:
    """The thread as one text, a ``user: text`` line per message."""
    return "\n".join(f"{m.user or 'someone'}: {m.text.strip()}" for m in messages)


def thread_title(channel: str, messages: list[Message]) -> str:
    """``#channel: first line of the first message``, cut to 100 characters."""
    first = next((line for m in messages for line in m.text.splitlines() if line.strip()), "")
    title = f"#{channel}: {first.strip()}"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


_UPSERT_MESSAGE = """
INSERT INTO thread_messages (tenant_id, channel, ts, thread_ts, project_id, user_id, text, url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, channel, ts) DO UPDATE SET text = EXCLUDED.text,
  user_id = EXCLUDED.user_id, url = coalesce(EXCLUDED.url, thread_messages.url),
  project_id = coalesce(EXCLUDED.project_id, thread_messages.project_id), received_at = now()
WHERE (thread_messages.text, thread_messages.user_id) IS DISTINCT FROM
      (EXCLUDED.text, EXCLUDED.user_id)
"""

# Slack ts values ("1700000000.000100") sort as numbers; anything else sorts after, as text.
_MESSAGES = """
SELECT ts, user_id, text, url, project_id FROM thread_messages
WHERE tenant_id = $1 AND channel = $2 AND thread_ts = $3
ORDER BY CASE WHEN ts ~ '^[0-9]{1,20}(\\.[0-9]{1,20})?$' THEN ts::numeric END NULLS LAST, ts
"""

_TO_SUMMARIZE = """
SELECT id, tenant_id, project_id, source_key, title, url, message_count,
  summarized_message_count
FROM context_documents
WHERE source = 'slack_thread' AND message_count > summarized_message_count
  AND message_count >= $1 AND ($2::text IS NULL OR tenant_id = $2)
ORDER BY message_count - summarized_message_count DESC, id LIMIT $3
"""


class Threads:
    """Thread memory on top of the document writer."""

    def __init__(self, pool: asyncpg.Pool, writer: DocumentWriter) -> None:
        self._pool = pool
        self._writer = writer

    async def remember(self, tenant_id: str, project_id: str | None, channel: str,
                       thread_ts: str, ts: str, user: str, text: str,
                       url: str | None) -> int:
        """Store a message (a redelivery changes nothing) and refresh its thread's document."""
        await self._pool.execute(_UPSERT_MESSAGE, tenant_id, channel, ts, thread_ts or ts,
                                 project_id, user, text, url)
        # Always refresh: when a previous attempt stored the message but failed before the
        # document was rewritten, the retry repairs it; an unchanged body costs one read.
        return await self.refresh(tenant_id, channel, thread_ts or ts)

    async def refresh(self, tenant_id: str, channel: str, thread_ts: str) -> int:
        """Rebuild the thread document from its messages; return its id.

        A per-thread advisory lock orders concurrent refreshes of one thread, so the last one
        to write has read every committed message.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               f"thread/{tenant_id}/{channel}/{thread_ts}")
            rows = await conn.fetch(_MESSAGES, tenant_id, channel, thread_ts)
            if not rows:
                raise LookupError(f"no messages in thread {channel}/{thread_ts}")
            messages = [Message(r["ts"], r["user_id"], r["text"]) for r in rows]
            url = next((r["url"] for r in rows if r["url"]), None)
            project = next((r["project_id"] for r in reversed(rows) if r["project_id"]), None)
            doc = DocumentInput(
                tenant_id=tenant_id, project_id=project, source="slack_thread",
                source_key=thread_key(channel, thread_ts),
                title=thread_title(channel, messages), url=url,
                text=thread_body(messages), message_count=len(messages))
            return await self._writer.upsert(doc, conn)

    async def messages(self, tenant_id: str, channel: str, thread_ts: str) -> list[Message]:
        """A thread's messages in order."""
        rows = await self._pool.fetch(_MESSAGES, tenant_id, channel, thread_ts)
        return [Message(r["ts"], r["user_id"], r["text"]) for r in rows]

    async def to_summarize(self, min_messages: int, tenant_id: str | None = None,
                           limit: int = 100) -> list[ThreadToSummarize]:
        """Threads with at least ``min_messages`` messages that grew since their summary."""
        rows = await self._pool.fetch(_TO_SUMMARIZE, min_messages, tenant_id, limit)
        found = []
        for r in rows:
            channel, _, thread_ts = r["source_key"].rpartition(":")
            found.append(ThreadToSummarize(
                document_id=r["id"], tenant_id=r["tenant_id"], project_id=r["project_id"],
                channel=channel, thread_ts=thread_ts, title=r["title"], url=r["url"],
                message_count=r["message_count"],
                summarized_message_count=r["summarized_message_count"]))
        return found

    async def store_summary(self, thread_document_id: int, summary: str,
                            message_count: int) -> int:
        """Store (or replace) the thread's summary document; mark the thread summarized at
        ``message_count`` messages. Returns the summary document's id."""
        thread = await self._pool.fetchrow(
            "SELECT tenant_id, project_id, source_key, title, url FROM context_documents"
            " WHERE id = $1 AND source = 'slack_thread'", thread_document_id)
        if thread is None:
            raise LookupError(f"no thread document {thread_document_id}")
        summary_id = await self._writer.upsert(DocumentInput(
            tenant_id=thread["tenant_id"], project_id=thread["project_id"], source="summary",
            source_key=thread["source_key"], title=f"Summary of {thread['title']}",
            url=thread["url"], text=summary, message_count=message_count,
            summary_of=thread_document_id))
        await self._writer.mark_summarized(thread_document_id, message_count)
        return summary_id
