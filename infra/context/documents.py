"""Writing a document: chunk it, embed what changed, replace its chunks in one transaction."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from dataclasses import dataclass

import asyncpg

from infra.context.chunking import Chunk, Chunker, count_tokens
from infra.context.embedders import Embedder
from infra.context.search import vector_literal

SOURCES = ("slack_thread", "github_thread", "clickup_thread", "readme", "summary", "clickup_task",
           "document")
OFF_LOOP_CHARS = 20_000


@dataclass(frozen=True)
class DocumentInput:
    """A document as its source gives it; (tenant, source, source_key) names it."""

    tenant_id: str
    project_id: str | None
    source: str
    source_key: str
    title: str
    url: str | None
    text: str
    message_count: int = 0
    summary_of: int | None = None


_EXISTING = """
SELECT id, body_sha256, embedding_model, title FROM context_documents
WHERE tenant_id = $1 AND source = $2 AND source_key = $3
"""

_UPSERT = """
INSERT INTO context_documents (tenant_id, project_id, source, source_key, title, url, body,
  body_sha256, embedding_model, tokens, message_count, summary_of)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (tenant_id, source, source_key) DO UPDATE SET project_id = EXCLUDED.project_id,
  title = EXCLUDED.title, url = EXCLUDED.url, body = EXCLUDED.body,
  body_sha256 = EXCLUDED.body_sha256, embedding_model = EXCLUDED.embedding_model,
  tokens = EXCLUDED.tokens, message_count = EXCLUDED.message_count,
  summary_of = EXCLUDED.summary_of, updated_at = now()
RETURNING id
"""

_META = """
UPDATE context_documents SET project_id = $2, url = $3, message_count = $4,
  summary_of = $5, updated_at = now()
WHERE id = $1 AND (project_id, url, message_count, summary_of)
  IS DISTINCT FROM ($2, $3, $4, $5)
"""

_INSERT_CHUNKS = """
INSERT INTO context_chunks (document_id, tenant_id, project_id, source, ordinal, text, tokens,
  embedding)
SELECT $1, $2, $3, $4, u.ordinal, u.text, u.tokens, u.embedding::vector
FROM unnest($5::int[], $6::text[], $7::int[], $8::text[]) AS u(ordinal, text, tokens, embedding)
"""


def embedding_input(title: str, text: str) -> str:
    """What is embedded for a chunk: the document's title gives every chunk its topic."""
    return f"{title}\n{text}" if title else text


class DocumentWriter:
    """Upserts documents with their chunks and vectors."""

    def __init__(self, pool: asyncpg.Pool, embedder: Embedder, chunker: Chunker) -> None:
        self._pool = pool
        self._embedder = embedder
        self._chunker = chunker

    def _split(self, text: str) -> tuple[list[Chunk], int]:
        """The chunks of ``text`` and its token count."""
        return self._chunker.split(text), count_tokens(text)

    async def upsert(self, doc: DocumentInput, conn: asyncpg.Connection | None = None) -> int:
        """Store ``doc``; re-chunk and re-embed only when its text (or the model) changed.

        With ``conn``, everything runs on it (the caller's transaction); otherwise vectors are
        computed before the write transaction, so no lock is held while the model runs.
        """
        if doc.source not in SOURCES:
            raise ValueError(f"unknown source {doc.source!r}; one of {', '.join(SOURCES)}")
        if "\x00" in doc.text or "\x00" in doc.title:
            # PostgreSQL text cannot hold a NUL; a stray one (a pasted file, a chat message)
            # carries no meaning, so it is dropped rather than failing the whole document.
            doc = dataclasses.replace(doc, text=doc.text.replace("\x00", ""),
                                      title=doc.title.replace("\x00", ""))
        if conn is not None:
            return await self._upsert(conn, doc)
        async with self._pool.acquire() as own:
            return await self._upsert(own, doc)

    async def mark_summarized(self, document_id: int, message_count: int) -> None:
        """Mark a thread document summarized at ``message_count`` messages (never backwards)."""
        await self._pool.execute(
            "UPDATE context_documents SET summarized_at = now(),"
            " summarized_message_count = greatest(summarized_message_count, $2)"
            " WHERE id = $1", document_id, message_count)

    async def delete(self, tenant_id: str, source: str, source_key: str,
                     conn: asyncpg.Connection | None = None) -> bool:
        """Remove a document and its chunks; False if there was none."""
        status = await (conn or self._pool).execute(
            "DELETE FROM context_documents WHERE tenant_id = $1 AND source = $2"
            " AND source_key = $3", tenant_id, source, source_key)
        return bool(status != "DELETE 0")

    async def _upsert(self, conn: asyncpg.Connection, doc: DocumentInput) -> int:
        """The upsert on one connection."""
        sha = hashlib.sha256(doc.text.encode()).digest()
        model = self._embedder.model
        old = await conn.fetchrow(_EXISTING, doc.tenant_id, doc.source, doc.source_key)
        if old is not None and old["body_sha256"] == sha and old["embedding_model"] == model \
                and old["title"] == doc.title:
            async with conn.transaction():
                await conn.execute(_META, old["id"], doc.project_id, doc.url,
                                   doc.message_count, doc.summary_of)
                await conn.execute(
                    "UPDATE context_chunks SET project_id = $2 WHERE document_id = $1"
                    " AND project_id IS DISTINCT FROM $2", old["id"], doc.project_id)
            return int(old["id"])
        if len(doc.text) > OFF_LOOP_CHARS:  # tokenizing a long README takes milliseconds
            chunks, tokens = await asyncio.to_thread(self._split, doc.text)
        else:
            chunks, tokens = self._split(doc.text)
        known: dict[str, str] = {}
        if old is not None and old["embedding_model"] == model and old["title"] == doc.title:
            rows = await conn.fetch(
                "SELECT text, embedding::text AS embedding FROM context_chunks"
                " WHERE document_id = $1", old["id"])
            known = {r["text"]: r["embedding"] for r in rows}
        missing = list(dict.fromkeys(c.text for c in chunks if c.text not in known))
        vectors = await self._embedder.embed([embedding_input(doc.title, t) for t in missing])
        known.update(zip(missing, map(vector_literal, vectors), strict=True))
        async with conn.transaction():
            doc_id: int = await conn.fetchval(
                _UPSERT, doc.tenant_id, doc.project_id, doc.source, doc.source_key, doc.title,
                doc.url, doc.text, sha, model, tokens, doc.message_count,
                doc.summary_of)
            await conn.execute("DELETE FROM context_chunks WHERE document_id = $1", doc_id)
            await conn.execute(
                _INSERT_CHUNKS, doc_id, doc.tenant_id, doc.project_id, doc.source,
                [c.ordinal for c in chunks], [c.text for c in chunks],
                [c.tokens for c in chunks], [known[c.text] for c in chunks])
        return doc_id
