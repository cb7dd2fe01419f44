"""What a thread is made of: its key (provider, container, item), its messages, its text."""

from __future__ import annotations

from dataclasses import dataclass

TITLE_CHARS = 100
THREAD_SOURCES = {"slack": "slack_thread", "github": "github_thread",
                  "clickup": "clickup_thread"}


@dataclass(frozen=True)
class ThreadKey:
    """Which thread: a provider's container (channel, repo, list) and item (thread, issue, task)."""

    provider: str
    container: str
    item: str

    @property
    def source(self) -> str:
        """The thread document's source."""
        return THREAD_SOURCES[self.provider]

    @property
    def source_key(self) -> str:
        """The document's source key (Slack's keeps its original ``channel:ts`` form)."""
        if self.provider == "slack":
            return thread_key(self.container, self.item)
        return f"{self.provider}:{self.container}:{self.item}"

    @property
    def context_key(self) -> str:
        """The source the event's own thread carries in a context bundle."""
        return f"thread:{self.provider}:{self.container}:{self.item}"


@dataclass(frozen=True)
class Message:
    """One message of a thread, in thread order; ``agent`` when an agent of ours wrote it."""

    ts: str
    user: str
    text: str
    agent: bool = False


@dataclass(frozen=True)
class ThreadDocument:
    """A stored thread document, as the context bundle reads it."""

    id: int
    title: str
    url: str | None
    body: str


@dataclass(frozen=True)
class ThreadToSummarize:
    """A thread that has grown past the threshold since its last summary: a Slack thread
    (``channel``, ``thread_ts``), a GitHub issue or pull request (repo, number) or a ClickUp task
    (list, task id), as ``provider`` says; the two fields keep their Slack names."""

    document_id: int
    tenant_id: str
    project_id: str | None
    channel: str
    thread_ts: str
    title: str
    url: str | None
    message_count: int
    summarized_message_count: int
    provider: str = "slack"


def thread_key(channel: str, thread_ts: str) -> str:
    """The source key of a Slack thread document (and of its summary)."""
    return f"{channel}:{thread_ts}"


def thread_body(messages: list[Message]) -> str:
    """The thread as one text, a ``user: text`` line per message (``user (agent):`` for ours)."""
    return "\n".join(f"{m.user or 'someone'}{' (agent)' if m.agent else ''}: {m.text.strip()}"
                     for m in messages)


def thread_title(where: str, messages: list[Message]) -> str:
    """``where: first line of the first message``, cut to 100 characters (``where`` is
    ``#channel``, ``owner/repo#12`` or ``ClickUp task abc``)."""
    first = next((line for m in messages for line in m.text.splitlines() if line.strip()), "")
    title = f"{where}: {first.strip()}"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def where(key: ThreadKey) -> str:
    """How a thread's title names it: ``#channel``, ``owner/repo#12``, ``ClickUp task abc``."""
    if key.provider == "github":
        return f"{key.container}#{key.item}"
    if key.provider == "clickup":
        return f"ClickUp task {key.item}"
    return f"#{key.container}"
