"""Enrichment: the work item or thread an event is about, fetched before its agents see it.

A ClickUp delivery carries only ids, a Slack reply only itself, a GitHub comment only its own
text. The :class:`Enricher` reads the task, the thread or the issue with the tenant's credential
(from the same vault, with the same client libraries as the gateway's executors) on the gateway
side of the platform worker; what comes back holds no credential. See README, "Enrichment".
"""

from infra.enrichment.base import EnrichmentUnavailable, Found, Target, target_of
from infra.enrichment.service import Enricher, Enrichment

__all__ = ["Enricher", "Enrichment", "EnrichmentUnavailable", "Found", "Target", "target_of"]
