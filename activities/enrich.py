"""Enrichment as an activity on the gateway queue: the event with its task, thread or issue.

It runs where the credentials are (the platform worker's gateway worker), never in an agent
worker; what it returns is the event and text for the agent, never a credential. A read worth
retrying raises, so Temporal retries it under ``policies.ENRICH``; EventWorkflow goes on with the
bare event and a note once the short schedule-to-close is spent.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.normalize import extract_mentions
from infra.enrichment import Enricher, EnrichmentUnavailable, Found
from workflows.contracts import EnrichedEvent, Provider, StandardEvent
from workflows.errors import ErrorType


def enriched(event: StandardEvent, found: Found | None, note: str) -> StandardEvent:
    """``event`` with what was found: ClickUp's real name, description, URL and assignees, and
    the mentions of its description when the event names nobody itself; facts stay flat."""
    facts: dict[str, Any] = {**event.facts, "enrichment": note}
    if found is None:
        return event.model_copy(update={"facts": facts})
    facts.update(found.facts)
    update: dict[str, Any] = {"facts": facts, "url": event.url or found.url}
    if event.provider is Provider.CLICKUP and found.url:
        update["url"] = found.url
    if found.title:
        update["title"] = found.title
    if not event.text and found.text:
        update["text"] = found.text
    if not event.mentions and found.mention_text:
        update["mentions"] = extract_mentions(found.mention_text)
    if not event.assignees and found.assignees:
        update["assignees"] = list(found.assignees)
    return event.model_copy(update=update)


class EnrichActivities:
    """The enricher, as an activity."""

    def __init__(self, enricher: Enricher) -> None:
        self._enricher = enricher

    @activity.defn(name="enrich_event")
    async def enrich_event(self, event: StandardEvent) -> EnrichedEvent:
        """Fetch what ``event`` is about; the bare event with a note when it cannot be had."""
        try:
            found = await self._enricher.enrich(event)
        except EnrichmentUnavailable as err:
            raise ApplicationError(err.message, type=ErrorType.GATEWAY_RETRYABLE,
                                   next_retry_delay=err.retry_after) from None
        return EnrichedEvent(event=enriched(event, found.found, found.note), context=found.item,
                             note=found.note)
