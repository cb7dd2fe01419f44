"""The knowledge store on the real PostgreSQL + pgvector: documents, isolation, the bundle."""

from __future__ import annotations

import asyncpg
import pytest

from infra.context import DimensionMismatchError, KnowledgeStore
from infra.context.search import Method
from infra.settings import ContextSettings
from tests.context.conftest import CountingEmbedder, NewTenant
from tests.context.corpus import stdlib_paragraphs

LOGIN = "Users cannot log in: the sign-in page crashes after the OAuth redirect on Safari"


async def test_add_document_is_searchable_and_stored_with_its_metadata(
        store: KnowledgeStore, kpool: asyncpg.Pool, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    text = "\n\n".join(p for _, p in stdlib_paragraphs()[:60])  # > 1 chunk of real prose
    doc = await store.add_document(tenant, "web", "readme", "acme/web", "acme/web README",
                                   "https://github.com/acme/web#readme", text)
    await store.add_document(tenant, "web", "clickup_task", "task-1", "Login broken",
                             "https://app.clickup.com/t/1", LOGIN)
    [hit] = await store.search(tenant, "login fails on Safari after OAuth", k=1)
    assert hit.source == "clickup_task" and hit.url == "https://app.clickup.com/t/1"
    assert hit.title == "Login broken" and hit.text == LOGIN and hit.score > 0.5
    rows = await kpool.fetch(
        "SELECT ordinal, tokens, tenant_id, project_id, source FROM context_chunks"
        " WHERE document_id = $1 ORDER BY ordinal", doc)
    assert len(rows) >= 2 and rows[0]["tokens"] == 500
    assert {(r["tenant_id"], r["project_id"], r["source"]) for r in rows} == {
        (tenant, "web", "readme")}


async def test_upsert_re_embeds_only_what_changed(
        store: KnowledgeStore, embedder: CountingEmbedder, kpool: asyncpg.Pool,
        new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    text = "\n\n".join(p for _, p in stdlib_paragraphs()[100:160])
    doc = await store.add_document(tenant, None, "document", "spec", "Spec", None, text)
    first = len(embedder.texts)
    assert first >= 2
    again = await store.add_document(tenant, "p1", "document", "spec", "Spec", "https://x/spec",
                                     text)
    assert again == doc and len(embedder.texts) == first  # same text: nothing re-embedded
    assert await kpool.fetchval(
        "SELECT count(*) FROM context_chunks WHERE document_id = $1 AND project_id = 'p1'",
        doc) == first
    await store.add_document(tenant, "p1", "document", "spec", "Spec", None,
                             text + "\n\nA new closing paragraph about the release.")
    assert len(embedder.texts) - first == 1  # only the last chunk changed
    [hit] = await store.search(tenant, "closing paragraph about the release", k=1)
    assert hit.text.endswith("A new closing paragraph about the release.")
    with pytest.raises(ValueError, match="unknown source"):
        await store.add_document(tenant, None, "wiki", "x", "x", None, "x")


async def test_a_thread_of_another_tenant_on_the_same_topic_never_appears(
        kpool: asyncpg.Pool, embedder: CountingEmbedder, new_tenant: NewTenant) -> None:
    ours, theirs = await new_tenant(), await new_tenant()
    store = KnowledgeStore(kpool, embedder, ContextSettings())
    # The other tenant's thread is the query itself: the closest vector there is.
    await store.remember_message(theirs, "web", "C1", "1.0", "1.0", "U9", LOGIN,
                                 "https://theirs.slack.com/archives/C1/p10")
    await store.add_document(ours, "web", "readme", "ours/web", "README", None,
                             "Our web app is built with React and deployed to Fly.io.")
    await store.remember_message(ours, "web", "C1", "2.0", "2.0", "U1",
                                 "The billing export to CSV is missing the VAT column")
    methods: tuple[Method, ...] = ("auto", "exact", "hnsw")
    vector = await store.embed_query(LOGIN)
    for method in methods:
        hits = await store.nearest(ours, vector, 5, method=method)
        assert len(hits) == 2 and all("theirs" not in (h.url or "") for h in hits)
    items = await store.search(ours, LOGIN, k=10)
    assert LOGIN not in {i.text for i in items} and len(items) == 2
    bundle = await store.context_for(ours, "web", LOGIN, 2000)
    assert all(LOGIN not in i.text for i in bundle)
    [theirs_hit] = await store.search(theirs, LOGIN, k=5)
    assert LOGIN in theirs_hit.text and theirs_hit.score > 0.9


async def test_context_for_puts_the_readme_first_and_keeps_to_the_budget(
        store: KnowledgeStore, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    readme = "\n\n".join(p for _, p in stdlib_paragraphs()[200:260])
    await store.add_document(tenant, "web", "readme", "acme/web", "acme/web README",
                             "https://github.com/acme/web", readme)
    for i, text in enumerate([LOGIN, "Safari users are logged out after the OAuth callback",
                              "Quarterly planning: hiring two designers",
                              "The OAuth client secret was rotated yesterday"]):
        await store.remember_message(tenant, "web", f"C{i}", "1.0", "1.0", "U1", text,
                                     f"https://acme.slack.com/archives/C{i}/p1")
    bundle = await store.context_for(tenant, "web", "login broken after OAuth redirect", 400,
                                     threads=3)
    assert bundle[0].source == "readme" and bundle[0].url == "https://github.com/acme/web"
    threads = bundle[1:]
    assert [t.source for t in threads] == ["slack_thread"] * 3
    assert threads[0].text.endswith(LOGIN) and threads[0].url is not None
    assert "designers" not in " ".join(t.text for t in threads)
    assert sum(i.tokens for i in bundle) <= 400
    small = await store.context_for(tenant, "web", "login broken after OAuth redirect", 60)
    assert small and sum(i.tokens for i in small) <= 60  # README (cap 30) left out: < 32


async def test_an_embedder_of_another_dimension_is_refused(kpool: asyncpg.Pool) -> None:
    class Tiny:
        dimension = 3
        model = "tiny"

        async def embed(self, texts: list[str]) -> list[list[float]]:
            return [[1.0, 0.0, 0.0] for _ in texts]

    with pytest.raises(DimensionMismatchError, match=r"vector\(384\)"):
        await KnowledgeStore(kpool, Tiny(), ContextSettings()).verify()
