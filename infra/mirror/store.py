"""The mirror's id map: the thread each task opened, and every message the mirror wrote.

The one writer of ``mirror_threads`` and ``mirror_messages`` (the pairs themselves are part of a
project: infra/directory/projects.py writes them). A write is recorded before it goes out, with
its thread and a hash of its text, and gets its remote id once delivered: an echo of it (the
webhook of the mirror's own comment or reply) is known by that id, or, if it arrives before the
write returned, by the same thread and text while the write is in flight.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import asyncpg

from workflows.contracts.mirror import MirrorPair


@dataclass(frozen=True)
class MirrorThread:
    """The Slack thread a ClickUp task opened (``thread_ts`` None: being opened under ``key``)."""

    task_id: str
    list_id: str
    channel: str
    thread_ts: str | None
    key: str | None


def text_hash(text: str) -> bytes:
    """SHA-256 of the text, whitespace runs collapsed (Slack and ClickUp may re-space it)."""
    return hashlib.sha256(" ".join(text.split()).encode()).digest()


async def find_pair(pool: asyncpg.Pool, tenant_id: str, provider: str, container: str
                    ) -> MirrorPair | None:
    """The mirrored pair a ClickUp list or Slack channel belongs to, if any."""
    column = "list_id" if provider == "clickup" else "channel"
    row = await pool.fetchrow(
        f"SELECT project_id, list_id, channel FROM mirror_pairs WHERE tenant_id = $1"
        f" AND {column} = $2", tenant_id, container)
    return MirrorPair(**dict(row)) if row is not None else None


_THREAD = ("SELECT task_id, list_id, channel, thread_ts, key FROM mirror_threads"
           " WHERE tenant_id = $1")


async def thread_of_task(pool: asyncpg.Pool, tenant_id: str, task_id: str) -> MirrorThread | None:
    """The thread a task opened (or is opening)."""
    row = await pool.fetchrow(_THREAD + " AND task_id = $2", tenant_id, task_id)
    return MirrorThread(**dict(row)) if row is not None else None


async def task_of_thread(pool: asyncpg.Pool, tenant_id: str, channel: str, thread_ts: str
                         ) -> MirrorThread | None:
    """The task a Slack thread mirrors."""
    row = await pool.fetchrow(_THREAD + " AND channel = $2 AND thread_ts = $3",
                              tenant_id, channel, thread_ts)
    return MirrorThread(**dict(row)) if row is not None else None


async def claim_thread(pool: asyncpg.Pool, tenant_id: str, task_id: str, list_id: str,
                       channel: str, key: str) -> MirrorThread:
    """Claim the opening of a task's thread under ``key``; the thread row either way.

    Two events of a new task (its creation and a first comment) may both want its thread: only
    the claimer (``key`` in the row) posts the root, the other waits for its ``thread_ts``.
    """
    await pool.execute(
        "INSERT INTO mirror_threads (tenant_id, task_id, list_id, channel, key)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, task_id) DO NOTHING",
        tenant_id, task_id, list_id, channel, key)
    thread = await thread_of_task(pool, tenant_id, task_id)
    assert thread is not None
    return thread


async def thread_opened(pool: asyncpg.Pool, tenant_id: str, task_id: str, key: str,
                        thread_ts: str) -> None:
    """The root under ``key`` was posted: the thread is ``thread_ts``."""
    await pool.execute(
        "UPDATE mirror_threads SET thread_ts = $4 WHERE tenant_id = $1 AND task_id = $2"
        " AND key = $3", tenant_id, task_id, key, thread_ts)


async def release_thread(pool: asyncpg.Pool, tenant_id: str, task_id: str, key: str) -> None:
    """The root under ``key`` could not be posted: let a later event open the thread."""
    await pool.execute(
        "DELETE FROM mirror_threads WHERE tenant_id = $1 AND task_id = $2 AND key = $3"
        " AND thread_ts IS NULL", tenant_id, task_id, key)


async def begin_write(pool: asyncpg.Pool, tenant_id: str, provider: str, thread: str, key: str,
                      text: str) -> None:
    """Record a write about to go out (once per key), so that its echo is known."""
    await pool.execute(
        "INSERT INTO mirror_messages (tenant_id, provider, thread, write_key, text_hash)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, write_key) DO NOTHING",
        tenant_id, provider, thread, key, text_hash(text))


async def end_write(pool: asyncpg.Pool, tenant_id: str, key: str, external_id: str) -> None:
    """The write under ``key`` was delivered as ``external_id``."""
    # Its echo may have arrived first and claimed another in-flight row of the same text.
    with contextlib.suppress(asyncpg.UniqueViolationError):
        await pool.execute(
            "UPDATE mirror_messages SET external_id = $3 WHERE tenant_id = $1"
            " AND write_key = $2 AND external_id IS NULL", tenant_id, key, external_id)


async def is_echo(pool: asyncpg.Pool, tenant_id: str, provider: str, external_id: str,
                  thread: str, text: str | None) -> bool:
    """Whether a comment or reply that arrived is one the mirror wrote itself.

    Known by its id; or, while a write of the same text to the same thread is still in flight,
    by that write, which it then claims (so that the write's own id is recorded as well).
    """
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(
                "SELECT 1 FROM mirror_messages WHERE tenant_id = $1 AND provider = $2"
                " AND external_id = $3", tenant_id, provider, external_id):
            return True
        if text is None:
            return False
        claimed = await conn.fetchval(
            "UPDATE mirror_messages SET external_id = $3 WHERE id = (SELECT id FROM"
            " mirror_messages WHERE tenant_id = $1 AND provider = $2 AND thread = $4"
            " AND text_hash = $5 AND external_id IS NULL ORDER BY id LIMIT 1"
            " FOR UPDATE SKIP LOCKED) RETURNING id",
            tenant_id, provider, external_id, thread, text_hash(text))
        return claimed is not None


async def alert_raised(pool: asyncpg.Pool, tenant_id: str, kind: str, subject: str) -> bool:
    """Whether an alert of this kind and subject is stored already (infra/governance/alerts)."""
    return bool(await pool.fetchval(
        "SELECT 1 FROM alerts WHERE tenant_id = $1 AND kind = $2 AND subject = $3",
        tenant_id, kind, subject))
