"""GitHub webhooks (issues, pull requests, comments, reviews, pushes) to ``StandardEvent``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

_NEW_ITEM = {"issues": {"opened"}, "pull_request": {"opened", "reopened", "ready_for_review"}}
_COMMENT = {"issue_comment": {"created"}, "pull_request_review_comment": {"created"}}
_STATUS = {"closed", "reopened"}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11+ accepts the trailing "Z"
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _logins(users: Any) -> list[str]:
    if not isinstance(users, list):
        return []
    return [u["login"] for u in users if isinstance(u, dict) and isinstance(u.get("login"), str)]


def _classify(
    event: str, action: str | None, body: dict[str, Any], comment: dict[str, Any]
) -> tuple[EventKind, str | None]:
    """Decide the event kind, and why it is ignored when it is."""
    sender = _obj(body.get("sender"))
    login = str(sender.get("login") or "")
    if sender.get("type") == "Bot" or login.endswith("[bot]"):
        return EventKind.IGNORE, f"sent by a bot ({login})"
    if not event:
        return EventKind.IGNORE, "no GitHub event name (X-GitHub-Event header missing)"
    if event == "ping":
        return EventKind.IGNORE, "webhook ping"
    if event == "push":
        if body.get("deleted"):
            return EventKind.IGNORE, f"branch deleted ({body.get('ref')})"
        return EventKind.CODE_PUSH, None
    if action in _NEW_ITEM.get(event, ()):
        return EventKind.NEW_WORK_ITEM, None
    if event in _NEW_ITEM and action in _STATUS:
        return EventKind.STATUS_CHANGE, None
    if event in _NEW_ITEM and action == "assigned":
        return EventKind.ASSIGNMENT, None
    if action in _COMMENT.get(event, ()):
        return EventKind.COMMENT, None
    if event == "pull_request_review" and action == "submitted":
        if comment.get("body"):
            return EventKind.COMMENT, None
        return EventKind.IGNORE, "pull_request_review.submitted without a comment body"
    name = f"{event}.{action}" if action else event
    return EventKind.IGNORE, f"GitHub event {name} is not handled"


def _item_facts(action: str | None, issue: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    """Facts about the issue or pull request an event is about."""
    item = pr or issue
    is_pr = bool(pr) or "pull_request" in issue
    labels = [lb["name"] for lb in _list(item.get("labels"))
              if isinstance(lb, dict) and isinstance(lb.get("name"), str)]
    facts: dict[str, Any] = {
        "number": item.get("number"),
        "is_pull_request": is_pr,
        "state": item.get("state"),
        "labels": labels,
    }
    if pr:
        facts["head_ref"] = _obj(pr.get("head")).get("ref")
        facts["base_ref"] = _obj(pr.get("base")).get("ref")
        facts["draft"] = pr.get("draft")
    if action in _STATUS:
        facts["new_state"] = item.get("state")
        if is_pr:
            facts["merged"] = bool(pr.get("merged"))
    return facts


def _push_facts(body: dict[str, Any]) -> dict[str, Any]:
    """Facts about a push: refs, commit count, who pushed."""
    ref = body.get("ref")
    branch = ref.removeprefix("refs/heads/") if isinstance(ref, str) else None
    commits = body.get("commits")
    return {
        "ref": ref,
        "branch": branch if branch != ref else None,
        "before": body.get("before"),
        "after": body.get("after"),
        "commit_count": len(commits) if isinstance(commits, list) else 0,
        "created": body.get("created"),
        "deleted": body.get("deleted"),
        "forced": body.get("forced"),
        "pusher": _obj(body.get("pusher")).get("name"),
    }


def _content(
    event: str, body: dict[str, Any], item: dict[str, Any], comment: dict[str, Any]
) -> tuple[str | None, str | None, str | None]:
    """Title, text and link a person would read for this event."""
    if event == "push":
        commits = body.get("commits")
        count = len(commits) if isinstance(commits, list) else 0
        ref = str(body.get("ref") or "").removeprefix("refs/heads/")
        title = f"Push to {ref} ({count} commit{'' if count == 1 else 's'})"
        return title, _obj(body.get("head_commit")).get("message"), body.get("compare")
    text = comment.get("body") if comment else item.get("body")
    url = comment.get("html_url") or item.get("html_url")
    return item.get("title"), text, url or _obj(body.get("repository")).get("html_url")


def _actor(sender: dict[str, Any]) -> Actor | None:
    """The GitHub account that caused the event."""
    if not sender:
        return None
    login = sender.get("login") if isinstance(sender.get("login"), str) else None
    return Actor(
        id=str(sender["id"]) if sender.get("id") is not None else None,
        name=login,
        is_bot=sender.get("type") == "Bot" or (login or "").endswith("[bot]"),
    )


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one GitHub delivery; ``event_name`` is the X-GitHub-Event header."""
    event = event_name or ""
    action = _str(body.get("action"))
    repo_obj = _obj(body.get("repository"))
    repo = _str(repo_obj.get("full_name"))
    issue, pr = _obj(body.get("issue")), _obj(body.get("pull_request"))
    item = pr or issue
    comment = _obj(body.get("comment")) or _obj(body.get("review"))
    kind, reason = _classify(event, action, body, comment)
    if kind not in (EventKind.IGNORE, EventKind.CODE_PUSH) and not item:
        kind, reason = EventKind.IGNORE, f"{event}.{action} payload has no issue or pull_request"
    elif kind is EventKind.CODE_PUSH and not _str(body.get("ref")):
        kind, reason = EventKind.IGNORE, "push payload has no ref"

    facts: dict[str, Any] = {"repo": repo}
    if item:
        facts.update(_item_facts(action, issue, pr))
    if event == "push":
        facts.update(_push_facts(body))
    if comment:
        facts["review_id" if event == "pull_request_review" else "comment_id"] = comment.get("id")
    assignee = _str(_obj(body.get("assignee")).get("login"))
    facts["assignee"] = assignee
    facts["label"] = _obj(body.get("label")).get("name")
    facts["hook_id"] = body.get("hook_id")
    facts["zen"] = body.get("zen")

    title, text, url = (
        v if isinstance(v, str) else None for v in _content(event, body, item, comment)
    )
    number = item.get("number")
    times = (
        comment.get("submitted_at"),
        comment.get("updated_at"),
        comment.get("created_at"),
        item.get("updated_at"),
        item.get("created_at"),
        _obj(body.get("head_commit")).get("timestamp"),
        body.get("starred_at"),
    )
    return StandardEvent(
        tenant_id=tenant_id,
        provider=Provider.GITHUB,
        source_event=(f"{event}.{action}" if action else event) or "unknown",
        kind=kind,
        ignore_reason=reason,
        actor=_actor(_obj(body.get("sender"))),
        title=title,
        text=text,
        url=url,
        ref=ItemRef(container=repo, item=str(number) if number is not None else None)
        if repo or number is not None
        else None,
        # A comment's mentions are its own; a new issue or PR may tag people in its title too.
        mentions=extract_mentions(text if comment else f"{title or ''}\n{text or ''}"),
        assignees=[assignee]
        if kind is EventKind.ASSIGNMENT and assignee
        else _logins(item.get("assignees")),
        project_hints=[ProjectHint(provider=Provider.GITHUB, kind="repo", external_id=repo)]
        if repo
        else [],
        occurred_at=next((t for t in map(_time, times) if t is not None), None),
        facts={k: v for k, v in facts.items() if v is not None},
    )
