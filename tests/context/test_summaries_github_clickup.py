"""Thread summaries beyond Slack (issue #14): a GitHub issue and a ClickUp task past the
threshold are listed for summarization with their provider and summarized from their own
comments, as a Slack thread is (threshold 5 here, not the default 51, to keep it quick)."""

from __future__ import annotations

import asyncpg

from infra.context import ExtractiveSummarizer, KnowledgeStore
from infra.context.summarize import summarize_thread
from infra.context.thread_model import ThreadKey
from tests.context.conftest import CountingEmbedder, NewTenant
from tests.context.test_threads import thread_lines


async def test_a_long_github_issue_and_clickup_task_are_summarized(
        store: KnowledgeStore, kpool: asyncpg.Pool, embedder: CountingEmbedder,
        new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    lines = thread_lines(6)
    keys = {ThreadKey("github", "acme/api", "12"): "https://github.com/acme/api/issues/12",
            ThreadKey("clickup", "L900", "86abc"): "https://app.clickup.com/t/86abc"}
    documents = {}
    for key, url in keys.items():
        for i, text in enumerate(lines[:5]):
            await store.store_message(tenant, "api", key, str(1000 + i), f"U{i % 4}", text, url)
        documents[key] = await store.remember(tenant, "api", key, "1005", "U1", lines[5], url)
    due = sorted(await store.threads_to_summarize(5, tenant_id=tenant), key=lambda t: t.provider)
    assert [(t.provider, t.channel, t.thread_ts, t.message_count) for t in due] == [
        ("clickup", "L900", "86abc", 6), ("github", "acme/api", "12", 6)]
    summarizer = ExtractiveSummarizer(embedder, max_tokens=200)
    for thread, key in zip(due, sorted(keys, key=lambda k: k.provider), strict=True):
        summary_id = await summarize_thread(store, thread, summarizer)
        summary = await kpool.fetchrow("SELECT * FROM context_documents WHERE id = $1",
                                       summary_id)
        assert summary["summary_of"] == documents[key] and summary["url"] == keys[key]
        assert summary["body"].startswith("Summary of a 6-message thread")
    assert await store.threads_to_summarize(5, tenant_id=tenant) == []
