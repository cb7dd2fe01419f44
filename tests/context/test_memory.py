"""Threads of every source: GitHub and ClickUp threads, edits, deletions, agents' own messages,
the event's own thread first in its context, and Slack rows written before migration 0018."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from infra import database
from infra.context import KnowledgeStore
from infra.context.thread_model import ThreadKey
from infra.embedded import database_url
from infra.settings import ContextSettings
from tests.context.conftest import CountingEmbedder, NewTenant
from tests.context.test_store import LOGIN

ISSUE = ThreadKey("github", "acme/web", "12")


async def test_a_github_issue_thread_is_remembered_edited_and_found(
        store: KnowledgeStore, kpool: asyncpg.Pool, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    url = "https://github.com/acme/web/issues/12#issuecomment-1000002"
    # comments arrive before the issue body; comment ids sort as numbers (999 < 1000002)
    await store.remember(tenant, "web", ISSUE, "1000002", "bob", "Only on Safari 17.", url)
    await store.remember(tenant, "web", ISSUE, "999", "carol", "Same here since Monday.")
    doc = await store.remember(tenant, "web", ISSUE, "issue-12", "alice",
                               "Checkout button does nothing\nClicking Pay has no effect.")
    row = await kpool.fetchrow("SELECT * FROM context_documents WHERE id = $1", doc)
    assert row["source"] == "github_thread" and row["source_key"] == "github:acme/web:12"
    assert row["title"] == "acme/web#12: Checkout button does nothing"
    assert row["body"] == ("alice: Checkout button does nothing\nClicking Pay has no effect.\n"
                           "carol: Same here since Monday.\nbob: Only on Safari 17.")
    [hit] = await store.search(tenant, "the pay button on checkout is broken", k=1)
    assert hit.source == "github_thread" and "Checkout button" in hit.text
    # an edit replaces the text; nothing else of the thread changes
    await store.remember(tenant, "web", ISSUE, "1000002", "bob", "Only on Safari 17.2 and iOS.")
    body = await kpool.fetchval("SELECT body FROM context_documents WHERE id = $1", doc)
    assert "bob: Only on Safari 17.2 and iOS." in body and "Safari 17.\n" not in body + "\n"
    assert await kpool.fetchval(
        "SELECT message_count FROM context_documents WHERE id = $1", doc) == 3


async def test_deleting_messages_removes_them_and_an_empty_thread_leaves_memory(
        store: KnowledgeStore, kpool: asyncpg.Pool, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    key = ThreadKey("clickup", "901", "86abc")
    doc = await store.remember(tenant, None, key, "9001", "dana", "Migrate billing to Stripe")
    await store.remember(tenant, None, key, "9002", "erin", "Also the VAT invoices please")
    assert await store.forget(tenant, key, "9002") == doc
    body = await kpool.fetchval("SELECT body FROM context_documents WHERE id = $1", doc)
    assert body == "dana: Migrate billing to Stripe" and "VAT" not in body
    assert await store.forget(tenant, key, "9002") == doc  # a redelivered deletion: no change
    assert await store.forget(tenant, key, "9001") is None
    assert await kpool.fetchval("SELECT count(*) FROM context_documents WHERE tenant_id = $1",
                                tenant) == 0
    assert await store.search(tenant, "Stripe billing migration", k=3) == []


async def test_an_agents_message_stays_marked_as_the_agents_when_the_webhook_echoes_it(
        store: KnowledgeStore, kpool: asyncpg.Pool, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    key = ThreadKey("slack", "C1", "1700000000.000100")
    await store.remember(tenant, None, key, "1700000000.000100", "U1", "Deploy is red")
    doc = await store.remember(tenant, None, key, "1700000005.000200", "fixer",
                               "Looking at the failing job now", agent=True)
    # Slack then delivers the bot's own message as an ordinary message event
    await store.remember(tenant, None, key, "1700000005.000200", "B0BOT",
                         "Looking at the failing job now")
    body = await kpool.fetchval("SELECT body FROM context_documents WHERE id = $1", doc)
    assert body == "U1: Deploy is red\nfixer (agent): Looking at the failing job now"
    assert await store.container_of(tenant, "slack", "1700000000.000100") == "C1"


async def test_the_events_own_thread_comes_first_and_only_once(
        store: KnowledgeStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    await store.add_document(tenant, "web", "readme", "acme/web", "acme/web README", None,
                             "The web shop: React front end, Stripe checkout, Fly.io deploys.")
    # the most similar memory is another thread; the event's own is about something else
    await store.remember(tenant, "web", ThreadKey("slack", "C2", "5.0"), "5.0", "U2", LOGIN)
    lines = [f"Step {i}: rotate the Stripe webhook secret in region {i}" for i in range(120)]
    for i, line in enumerate(lines[:-1]):  # stored as a burst; the last rebuilds the thread
        await store.store_message(tenant, "web", ISSUE, str(1000 + i), "ops", line)
    await store.remember(tenant, "web", ISSUE, str(1000 + len(lines) - 1), "ops", lines[-1])
    bundle = await store.context_for(tenant, "web", LOGIN, 400, thread=ISSUE)
    assert bundle[0].source == "thread:github:acme/web:12" and bundle[0].score == 1.0
    own = bundle[0].text
    assert own.startswith("ops: Step 0:") and own.rstrip().endswith(lines[-1])  # head and tail
    assert bundle[0].tokens <= 200 and sum(i.tokens for i in bundle) <= 400
    rest = bundle[1:]
    assert [i.source for i in rest] == ["readme", "slack_thread"]
    assert all("Stripe webhook secret" not in i.text for i in rest)  # never twice
    # no text to match (e.g. a bare reaction) still brings the thread
    [only] = await store.context_for(tenant, "web", "", 400, thread=ISSUE)
    assert only.source == "thread:github:acme/web:12"
    # a thread nothing was remembered of: just the similarity search
    other = await store.context_for(tenant, "web", LOGIN, 400,
                                    thread=ThreadKey("github", "acme/web", "99"))
    assert other[0].source == "readme"


async def test_slack_rows_from_before_0018_are_kept_and_still_build_their_thread(
        pg_url: str, embedder: CountingEmbedder) -> None:
    url = database_url(pg_url, f"mig_{uuid.uuid4().hex[:10]}")
    await database.ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        folder = Path(database.__file__).parent / "migrations"
        for path in sorted(p for p in folder.glob("*.sql") if not p.name.endswith(".down.sql")):
            if path.name.startswith("0018"):
                await conn.execute("INSERT INTO tenants (id, name) VALUES ('old', 'old')")
                await conn.execute(
                    "INSERT INTO thread_messages (tenant_id, channel, ts, thread_ts, user_id,"
                    " text) VALUES ('old', 'C9', '1.0', '1.0', 'U1', 'Before the migration')")
            await conn.execute(path.read_text())
        row = await conn.fetchrow("SELECT * FROM thread_messages")
        assert (row["provider"], row["container"], row["item"], row["message_id"],
                row["author_kind"]) == ("slack", "C9", "1.0", "1.0", "human")
    finally:
        await conn.close()
    pool = await database.create_pool(url, min_size=1, max_size=2)
    try:
        store = KnowledgeStore(pool, embedder, ContextSettings())
        doc = await store.remember_message("old", None, "C9", "1.0", "2.0", "U2", "And after")
        assert await pool.fetchval("SELECT body FROM context_documents WHERE id = $1", doc) == (
            "U1: Before the migration\nU2: And after")
    finally:
        await pool.close()
