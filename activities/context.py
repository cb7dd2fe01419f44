"""Context-engine activities: remember what is said, retrieve context, summarize threads."""

from __future__ import annotations

import dataclasses
import logging

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.context import KnowledgeStore, Summarizer, ThreadToSummarize, summarize_thread
from infra.context.embedders import SharedEmbeddings
from infra.context.thread_model import ThreadKey
from infra.gateway.base import GatewayError
from infra.gateway.readme import ReadmeReader
from workflows.contracts import (
    ContextBundle,
    EventKind,
    Provider,
    StandardEvent,
    SummaryStored,
    ThreadRef,
    ThreadsDue,
)
from workflows.contracts.context import ReadmeRequest, ReadmeStored
from workflows.errors import ErrorType

log = logging.getLogger(__name__)

# A README fetch that keeps failing retryably (GitHub down) gives up after this many attempts:
# the event it rides on must not wait for GitHub, and the next push or mapping fetches again.
README_ATTEMPTS = 5

_PROJECT_OF = """
SELECT m.project_id FROM project_mappings m
JOIN unnest($2::text[], $3::text[]) AS h(provider, external_id)
  ON h.provider = m.provider AND h.external_id = m.external_id
WHERE m.tenant_id = $1 ORDER BY m.project_id LIMIT 1
"""

_PROJECT_OF_REPO = """
SELECT project_id FROM project_mappings
WHERE tenant_id = $1 AND provider = 'github' AND external_id = $2
"""


def thread_of(event: StandardEvent) -> ThreadKey | None:
    """The event's own thread (Slack thread, GitHub issue or PR, ClickUp task), if it has one."""
    ref = event.ref
    if ref is None or not ref.container or not ref.item:
        return None
    return ThreadKey(event.provider.value, ref.container, ref.item)


def _author(event: StandardEvent) -> str:
    """Who wrote a message: Slack's user id (as before), else the login or name when known."""
    actor = event.actor
    if actor is None:
        return "unknown"
    named = actor.name if event.provider is not Provider.SLACK else None
    return named or actor.id or "unknown"


class ContextActivities:
    """The knowledge store, as activities."""

    def __init__(self, pool: asyncpg.Pool, store: KnowledgeStore, summarizer: Summarizer,
                 readme: ReadmeReader | None = None) -> None:
        self._pool = pool
        self._store = store
        self._summarizer = summarizer
        self._readme = readme

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts`` by the knowledge store's embedder (agent memory recalls with the
        same model as the context)."""
        return [await self._store.embed_query(text) for text in texts]

    async def _project(self, event: StandardEvent) -> str | None:
        hints = event.project_hints
        project: str | None = await self._pool.fetchval(
            _PROJECT_OF, event.tenant_id, [h.provider.value for h in hints],
            [h.external_id for h in hints])
        return project

    async def gather(self, event: StandardEvent, token_budget: int,
                     shared: SharedEmbeddings | None = None) -> ContextBundle:
        """The event's own thread first, then the project README and the most relevant threads
        and summaries (read by the prepare_event activity, which shares the embedding of the
        event's text with the agents' memory recalls: ``shared``)."""
        text = "\n".join(t for t in (event.title, event.text) if t)
        thread = thread_of(event)
        if (not text and thread is None) or token_budget <= 0:
            return ContextBundle()
        items = await self._store.context_for(event.tenant_id, await self._project(event), text,
                                              token_budget, thread=thread, shared=shared)
        return ContextBundle(items=items)

    @activity.defn(name="remember_event")
    async def remember_event(self, event: StandardEvent) -> None:
        """Remember what an event says (``facts["memory"]``): add or edit a message of its
        thread, delete one, or fetch the README of the repository it changed (idempotent)."""
        facts = event.facts
        memory = facts.get("memory")
        if memory is None and event.provider is Provider.SLACK and \
                event.kind is not EventKind.IGNORE and facts.get("ts"):
            memory = "add"  # a Slack message normalized before the memory facts existed
        if memory == "readme":
            repo = facts.get("repo") or (event.ref.container if event.ref else None)
            if repo:
                await self._fetch_readme(ReadmeRequest(tenant_id=event.tenant_id, repo=repo))
            return
        ref, message_id = event.ref, str(facts.get("message_id") or facts.get("ts") or "")
        if memory not in ("add", "edit", "delete") or ref is None or not message_id:
            return
        # A ClickUp task keeps the list its thread began in (a task moved to another list stays
        # one thread); any provider's thread named by its item alone is found the same way.
        known = await self._store.container_of(event.tenant_id, event.provider.value, ref.item) \
            if ref.item and (event.provider is Provider.CLICKUP or not ref.container) else None
        container = known or ref.container
        if not container:
            return
        key = ThreadKey(event.provider.value, container, ref.item or message_id)
        if memory == "delete":
            await self._store.forget(event.tenant_id, key, message_id)
        elif event.text:
            await self._store.remember(event.tenant_id, await self._project(event), key,
                                       message_id, _author(event), event.text, event.url)

    @activity.defn(name="fetch_readme")
    async def fetch_readme(self, request: ReadmeRequest) -> ReadmeStored:
        """Fetch a repository's README through the gateway's GitHub credential and store it as
        its project's README."""
        return await self._fetch_readme(request)

    async def _fetch_readme(self, request: ReadmeRequest) -> ReadmeStored:
        project = request.project_id or await self._pool.fetchval(
            _PROJECT_OF_REPO, request.tenant_id, request.repo)
        if self._readme is None:
            return ReadmeStored(project_id=project, note="this worker reads no README")
        try:
            found = await self._readme.read(request.tenant_id, request.repo)
        except GatewayError as err:
            if err.retryable and activity.info().attempt < README_ATTEMPTS:
                raise ApplicationError(err.message, type=ErrorType.GATEWAY_RETRYABLE,
                                       next_retry_delay=err.retry_after) from None
            log.warning("README of %s not fetched for %s: %s", request.repo,
                        request.tenant_id, err.message)
            return ReadmeStored(project_id=project, note=err.message)
        if found is None:
            return ReadmeStored(project_id=project, note=f"{request.repo} has no README")
        document_id = await self._store.store_readme(request.tenant_id, project, request.repo,
                                                     found.text, found.url)
        return ReadmeStored(document_id=document_id, project_id=project)

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
