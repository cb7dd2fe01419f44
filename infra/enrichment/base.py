"""What enrichment fetches for an event (its target) and what it found, provider by provider."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from workflows.contracts import EventKind, Provider, StandardEvent

# Ids go into URL paths or queries: letters, digits, "-" and "_" only (a Slack ts: digits and
# one dot; a repository name as GitHub allows, but not "." or ".."), so none can change a route.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
_REPO = re.compile(r"^[A-Za-z0-9_-]{1,100}/(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}$")

Scalar = str | int | float | bool


class EnrichmentUnavailable(Exception):
    """The provider (or the vault) could not answer now; worth retrying, after ``retry_after``."""

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Target:
    """The object an event is about, as the provider names it."""

    provider: Provider
    secret: str  # the vault secret its reads need
    container: str  # ClickUp list (may be ""), Slack channel, GitHub repository
    item: str  # ClickUp task id, Slack thread root ts, GitHub issue or PR number

    @property
    def source(self) -> str:
        """The context item's key: the same thread remembered by the context engine dedupes."""
        return f"thread:{self.provider.value}:{self.container}:{self.item}"


@dataclass(frozen=True)
class Found:
    """What a provider said about a target: what the event takes, and the text for the agent."""

    what: str  # e.g. "ClickUp task 86abc", for the event's note
    context_title: str
    context_text: str
    url: str | None = None
    title: str | None = None  # replaces the event's title when set (ClickUp's placeholder)
    text: str | None = None  # the event's text when it has none of its own
    mention_text: str | None = None  # mentions are read here when the event has none
    assignees: tuple[str, ...] = ()  # the event's assignees when it has none
    facts: dict[str, Scalar] = field(default_factory=dict)
    card: str | None = None  # context_text without ``text``, for an event that takes ``text``


def target_of(event: StandardEvent) -> Target | None:
    """What to fetch for ``event``, or None when it needs no enrichment.

    ClickUp events with a task id; Slack replies in a thread (``thread_ts`` other than ``ts``);
    GitHub comments and reviews on an issue or pull request (``repo`` and ``number``).
    """
    if event.kind is EventKind.IGNORE:
        return None
    facts = event.facts
    container = event.ref.container if event.ref and event.ref.container else ""
    if event.provider is Provider.CLICKUP:
        task = str(facts.get("task_id") or "")
        list_id = container or str(facts.get("list_id") or "")  # the key memory uses too
        if _ID.match(task) and (not list_id or _ID.match(list_id)):
            return Target(Provider.CLICKUP, "clickup_token", list_id, task)
    elif event.provider is Provider.SLACK:
        channel = str(facts.get("channel") or container)
        thread, ts = facts.get("thread_ts"), facts.get("ts")
        if thread and thread != ts and _ID.match(channel) and _TS.match(str(thread)):
            return Target(Provider.SLACK, "slack_bot_token", channel, str(thread))
    elif event.provider is Provider.GITHUB and event.kind in (EventKind.COMMENT,
                                                              EventKind.REVIEW):
        repo, number = str(facts.get("repo") or ""), facts.get("number")
        if _REPO.match(repo) and isinstance(number, int) and number > 0:
            return Target(Provider.GITHUB, "github_token", repo, str(number))
    return None


@dataclass(frozen=True)
class Reach:
    """How a fetcher reaches its provider: the gateway's API URLs, a short timeout and a bound.
    The clients themselves come from infra/gateway/clients, as the gateway's executors' do (one
    long-lived ClickUp client per process)."""

    clickup_api_url: str
    slack_api_url: str
    github_api_url: str
    timeout_seconds: float
    limit: int  # at most this many thread messages or comments
