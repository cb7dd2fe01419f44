"""The enricher: the tenant's credential from the vault, a cached read, a context item.

Failures are drawn once here. A read worth retrying (network, 429, 5xx, the vault unreachable)
raises :class:`EnrichmentUnavailable`, so Temporal retries it within the activity's short
schedule-to-close and the workflow then goes on with the bare event. A read that cannot succeed
(no credential for the tenant, 401, 404) is not an error: the bare event comes back at once
with a note saying why. The credential is used here only; results and notes are scrubbed of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra.context.chunking import count_tokens
from infra.enrichment.base import EnrichmentUnavailable, Found, Reach, Target, target_of
from infra.enrichment.cache import TtlCache
from infra.enrichment.clickup import fetch_task
from infra.enrichment.github import fetch_issue
from infra.enrichment.slack import fetch_thread
from infra.gateway.base import GatewayError
from infra.gateway.service import CredentialSource, scrub
from infra.settings import GatewaySettings
from infra.vault import SecretStoreError, VaultUnavailable
from workflows.contracts import ContextItem, Provider, StandardEvent

Fetcher = Callable[[Target, str, Reach], Awaitable[Found]]
FETCHERS: dict[Provider, Fetcher] = {
    Provider.CLICKUP: fetch_task, Provider.SLACK: fetch_thread, Provider.GITHUB: fetch_issue}

TTL_SECONDS = 10.0
TIMEOUT_SECONDS = 2.0  # under the activity's start-to-close (workflows/policies.py ENRICH_*)
THREAD_LIMIT = 30
ITEM_TOKENS = 1200  # the fetched text's share of an agent's context (default budget 2000)


@dataclass(frozen=True)
class Enrichment:
    """What enrichment gives an event: what was found (None: nothing) and a note saying so."""

    target: Target | None
    found: Found | None
    note: str
    item: ContextItem | None = None


def _fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` tokens: its first line, then as many of its last lines fit."""
    if count_tokens(text) <= limit:
        return text
    first, *rest = text.split("\n")
    kept: list[str] = []
    left = limit - count_tokens(first) - 12
    for line in reversed(rest):
        left -= count_tokens(line) + 1
        if left < 0:
            break
        kept.append(line)
    return "\n".join([first, f"[{len(rest) - len(kept)} lines left out]", *reversed(kept)])


def _scrubbed(found: Found, secret: str) -> Found:
    """``found`` with the credential replaced wherever a provider echoed it, and no NUL
    (PostgreSQL's text and jsonb cannot hold one)."""
    def clean(value: str | None) -> str | None:
        return None if value is None else str(scrub(value.replace("\x00", ""), [secret]))

    return dataclasses.replace(
        found, what=str(clean(found.what)), context_title=str(clean(found.context_title)),
        context_text=str(clean(found.context_text)), url=clean(found.url),
        title=clean(found.title), text=clean(found.text), mention_text=clean(found.mention_text),
        assignees=tuple(str(clean(a)) for a in found.assignees), card=clean(found.card),
        facts={k: scrub(v, [secret]) for k, v in found.facts.items()})


class Enricher:
    """Reads the object an event is about with the tenant's credential, briefly cached."""

    def __init__(self, credentials: CredentialSource, settings: GatewaySettings, *,
                 ttl_seconds: float = TTL_SECONDS, timeout_seconds: float = TIMEOUT_SECONDS,
                 limit: int = THREAD_LIMIT, item_tokens: int = ITEM_TOKENS) -> None:
        self._credentials = credentials
        self._reach = Reach(settings.clickup_api_url, settings.slack_api_url,
                            settings.github_api_url, timeout_seconds, limit)
        self._cache: TtlCache[Found] = TtlCache(ttl_seconds)
        self._item_tokens = item_tokens

    async def enrich(self, event: StandardEvent) -> Enrichment:
        """What ``event`` is about; raises EnrichmentUnavailable when a retry may help."""
        target = target_of(event)
        if target is None:
            return Enrichment(None, None, "nothing to fetch")
        key = (event.tenant_id, target.provider, target.container, target.item)
        found = self._cache.get(key)
        if found is not None:
            return self._enrichment(event, target, found, f"{found.what} (cached)")
        try:
            credential = await self._credentials.get(event.tenant_id, target.secret)
        except VaultUnavailable as err:
            raise EnrichmentUnavailable(f"the vault is unavailable: {err}") from None
        except SecretStoreError as err:
            return Enrichment(target, None, f"not fetched: credential {target.secret!r} cannot "
                                            f"be read: {err}")
        if not credential:
            return Enrichment(target, None,
                              f"not fetched: the tenant has no {target.secret!r} in the vault")
        try:
            found = await asyncio.wait_for(FETCHERS[target.provider](target, credential,
                                                                     self._reach),
                                           self._reach.timeout_seconds + 1)
        except TimeoutError:
            raise EnrichmentUnavailable(f"{target.provider.value} did not answer within "
                                        f"{self._reach.timeout_seconds:g} s") from None
        except GatewayError as err:
            message = scrub(err.message, [credential])
            if err.retryable:
                raise EnrichmentUnavailable(message, err.retry_after) from None
            return Enrichment(target, None, f"not fetched: {message}")
        found = _scrubbed(found, credential)
        self._cache.put(key, found)
        return self._enrichment(event, target, found, f"{found.what} fetched")

    def _enrichment(self, event: StandardEvent, target: Target, found: Found, note: str
                    ) -> Enrichment:
        # A new task's description becomes the event's text: the card does not repeat it.
        takes_text = found.card is not None and bool(found.text) and not event.text
        text = _fit(found.card if takes_text and found.card else found.context_text,
                    self._item_tokens)
        item = ContextItem(source=target.source, title=found.context_title, url=found.url,
                           text=text, score=1.0, tokens=count_tokens(text))
        return Enrichment(target, found, note, item)
