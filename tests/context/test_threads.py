"""Thread memory: messages assembled into a thread document, and summaries past 50 messages."""

from __future__ import annotations

import asyncio

import asyncpg
import openai

from infra.context import ExtractiveSummarizer, KnowledgeStore, OpenAISummarizer, count_tokens
from infra.context.summarize import summarize_thread
from infra.context.thread_model import Message, ThreadKey
from tests.context.conftest import CountingEmbedder, NewTenant
from tests.context.corpus import stdlib_paragraphs
from tests.fakes.openai_server import FakeOpenAI


async def test_messages_assemble_a_thread_and_redelivery_changes_nothing(
        store: KnowledgeStore, embedder: CountingEmbedder, kpool: asyncpg.Pool,
        new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    url = "https://acme.slack.com/archives/C7/p1700000000000100"
    # a reply can be ingested before its root; ts order wins ("9.5" < "10.0" as numbers)
    doc = await store.remember_message(tenant, "web", "C7", "1700000000.000100",
                                       "1700000010.000200", "U2", "Which browser?")
    same = await store.remember_message(tenant, "web", "C7", "1700000000.000100",
                                        "1700000000.000100", "U1",
                                        "Deploy failed on staging\nlogs attached", url)
    await store.remember_message(tenant, "web", "C7", "1700000000.000100",
                                 "1700000100.000300", "U1", "Chrome 120, rollback done.")
    assert same == doc
    row = await kpool.fetchrow("SELECT * FROM context_documents WHERE id = $1", doc)
    assert row["source"] == "slack_thread" and row["source_key"] == "C7:1700000000.000100"
    assert row["body"] == ("U1: Deploy failed on staging\nlogs attached\nU2: Which browser?\n"
                           "U1: Chrome 120, rollback done.")
    assert row["title"] == "#C7: Deploy failed on staging" and row["url"] == url
    assert row["message_count"] == 3 and row["project_id"] == "web"
    embedded = len(embedder.texts)
    again = await store.remember_message(tenant, "web", "C7", "1700000000.000100",
                                         "1700000010.000200", "U2", "Which browser?")
    assert again == doc and len(embedder.texts) == embedded  # idempotent: nothing re-embedded
    assert await kpool.fetchval(
        "SELECT count(*) FROM thread_messages WHERE tenant_id = $1", tenant) == 3
    assert await kpool.fetchval(
        "SELECT message_count FROM context_documents WHERE id = $1", doc) == 3
    await store.remember_message(tenant, "web", "C7", "1700000000.000100",
                                 "1700000010.000200", "U2", "Which browser and version?")
    body = await kpool.fetchval("SELECT body FROM context_documents WHERE id = $1", doc)
    assert "U2: Which browser and version?" in body and "Which browser?\n" not in body
    [hit] = await store.search(tenant, "staging deployment failure", k=1)
    assert hit.source == "slack_thread" and hit.url == url


def thread_lines(count: int) -> list[str]:
    """``count`` real sentences about one subject (the json module's documentation)."""
    json_paras = [p for topic, p in stdlib_paragraphs() if topic == "json"]
    sentences = [s for p in json_paras for s in p.split(". ") if len(s.split()) >= 4]
    return [sentences[i % len(sentences)] for i in range(count)]


async def test_a_thread_past_50_messages_is_summarized_once_until_it_grows(
        store: KnowledgeStore, kpool: asyncpg.Pool, embedder: CountingEmbedder,
        new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    lines = thread_lines(52)
    # the first 49 are stored as a burst would be (the thread is rebuilt once, by the 50th)
    for i, text in enumerate(lines[:49]):
        await store.store_message(tenant, "api", ThreadKey("slack", "C9", "100.0"),
                                  f"{100 + i}.0", f"U{i % 4}", text,
                                  "https://acme.slack.com/C9/p100")
    doc = await store.remember_message(tenant, "api", "C9", "100.0", "149.0", "U1", lines[49],
                                       "https://acme.slack.com/C9/p100")
    assert await store.threads_to_summarize(tenant_id=tenant) == []
    await store.remember_message(tenant, "api", "C9", "100.0", "150.0", "U1", lines[50])
    [thread] = await store.threads_to_summarize(tenant_id=tenant)
    assert thread.document_id == doc and thread.message_count == 51
    assert (thread.channel, thread.thread_ts) == ("C9", "100.0")
    summarizer = ExtractiveSummarizer(embedder, max_tokens=200)
    summary_id = await summarize_thread(store, thread, summarizer)
    assert await store.threads_to_summarize(tenant_id=tenant) == []
    summary = await kpool.fetchrow("SELECT * FROM context_documents WHERE id = $1", summary_id)
    assert summary["source"] == "summary" and summary["summary_of"] == doc
    assert summary["url"] == "https://acme.slack.com/C9/p100"
    assert summary["body"].startswith("Summary of a 51-message thread")
    hits = await store.search(tenant, "summary of the thread about JSON decoding",
                              sources=["summary"])
    assert [h.title for h in hits] == [summary["title"]]
    await store.remember_message(tenant, "api", "C9", "100.0", "151.0", "U2", lines[51])
    [grown] = await store.threads_to_summarize(tenant_id=tenant)
    assert grown.message_count == 52 and grown.summarized_message_count == 51
    again = await summarize_thread(store, grown, summarizer)
    assert again == summary_id  # one summary per thread, replaced
    assert await store.threads_to_summarize(tenant_id=tenant) == []


async def test_extractive_summary_is_deterministic_ordered_and_capped(
        embedder: CountingEmbedder) -> None:
    messages = [Message(str(i), f"U{i % 3}", text) for i, text in enumerate(thread_lines(60))]
    summarizer = ExtractiveSummarizer(embedder, max_tokens=150)
    first = await summarizer.summarize("#api: JSON", messages)
    assert first == await summarizer.summarize("#api: JSON", messages)
    lines = first.splitlines()
    assert lines[0].startswith("Summary of a 60-message thread: #api: JSON.")
    assert "Participants: U0, U1, U2" in lines[0] and len(lines) >= 3
    positions = [next(i for i, m in enumerate(messages) if line.split(": ", 1)[1] in m.text)
                 for line in lines[1:]]
    assert positions == sorted(positions)  # thread order kept
    assert count_tokens(first) <= 150


async def test_openai_summarizer_through_the_real_client() -> None:
    with FakeOpenAI() as fake:
        fake.answer("Deploys fail on staging; rollback done; owner U1.")
        client = openai.AsyncOpenAI(api_key="sk-sum", base_url=fake.base_url, max_retries=0)
        summary = await OpenAISummarizer(client, "gpt-4o-mini", 200).summarize(
            "#web: Deploy failed", [Message("1", "U1", "Deploy failed on staging"),
                                    Message("2", "U2", "Rolled back")])
    assert summary.endswith("Deploys fail on staging; rollback done; owner U1.")
    body = fake.requests[0].body
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert "U1: Deploy failed on staging\nU2: Rolled back" in body["messages"][1]["content"]


async def test_concurrent_messages_of_one_thread_all_reach_its_document(
        store: KnowledgeStore, kpool: asyncpg.Pool, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    lines = thread_lines(6)
    ids = await asyncio.gather(*(
        store.remember_message(tenant, None, "C3", "500.0", f"{500 + i}.0", f"U{i}", text)
        for i, text in enumerate(lines)))
    assert len(set(ids)) == 1
    row = await kpool.fetchrow("SELECT body, message_count FROM context_documents WHERE id = $1",
                               ids[0])
    assert row["message_count"] == 6
    assert row["body"].splitlines() == [f"U{i}: {text}" for i, text in enumerate(lines)]
