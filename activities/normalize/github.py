"""GitHub webhooks (every event of the catalog) to ``StandardEvent``.

Which kind each event and action becomes is decided in ``github_decide``; this module gathers
the facts an agent needs: the issue, pull request or discussion an event is about, the comment
or review, the push, ref, release or CI outcome, and what the platform should remember
(``facts["memory"]``: ``add``, ``edit`` or ``delete`` a message, or ``readme``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.normalize import extract_mentions
from activities.normalize import github_facts as more
from activities.normalize.github_decide import CI_EVENTS, COMMENT_EVENTS, decide
from workflows.contracts import Actor, EventKind, ItemRef, ProjectHint, Provider, StandardEvent

_obj, _list = more.obj, more.lst
_STATUS = {"closed", "reopened", "merged", "ready_for_review", "converted_to_draft", "deleted",
           "answered", "unanswered"}  # fmt: skip


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


def _login(user: Any) -> str | None:
    return _str(_obj(user).get("login"))


def _logins(users: Any) -> list[str]:
    return [name for name in map(_login, _list(users)) if name]


def _item_facts(action: str | None, body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Facts about the issue, pull request or discussion an event is about."""
    pr, discussion = _obj(body.get("pull_request")), _obj(body.get("discussion"))
    is_pr = bool(pr) or "pull_request" in _obj(body.get("issue"))
    labels = [lb["name"] for lb in _list(item.get("labels"))
              if isinstance(lb, dict) and isinstance(lb.get("name"), str)]
    facts: dict[str, Any] = {"number": item.get("number"), "is_pull_request": is_pr,
                             "state": item.get("state"), "labels": labels,
                             "author": _login(item.get("user")), "change": action}
    if pr:
        facts.update(head_ref=_obj(pr.get("head")).get("ref"),
                     base_ref=_obj(pr.get("base")).get("ref"), draft=pr.get("draft"),
                     head_sha=_obj(pr.get("head")).get("sha"))
        if action == "synchronize":
            facts.update(before=body.get("before"), after=body.get("after"))
    if discussion and not body.get("comment"):
        facts.update(is_discussion=True, category=_obj(discussion.get("category")).get("name"),
                     answer_id=_obj(body.get("answer")).get("id"))
    elif discussion:
        facts["is_discussion"] = True
    if action in _STATUS:
        facts["new_state"] = item.get("state")
        if is_pr:
            facts["merged"] = bool(pr.get("merged"))
    if isinstance(body.get("changes"), dict):
        facts["changed_fields"] = sorted(body["changes"])
    if "thread" in body:
        facts["thread_resolved"] = action == "resolved"
    facts["requested_reviewer"] = _login(body.get("requested_reviewer"))
    facts["requested_team"] = _obj(body.get("requested_team")).get("slug")
    facts["milestone"] = _obj(body.get("milestone")).get("title")
    return facts


def _memory(event: str, action: str | None, reason: str | None, item: dict[str, Any],
            comment: dict[str, Any], text: str | None) -> dict[str, Any]:
    """What the platform should remember of a person's words (the memory contract)."""
    if reason is not None and not reason.endswith(": memory updated"):
        return {}  # a bot's words, or nothing to remember
    op = {"created": "add", "submitted": "add", "opened": "add", "edited": "edit",
          "deleted": "delete"}.get(action or "")
    if op is None or (op == "add" and not text):
        return {}
    if event in COMMENT_EVENTS or event == "pull_request_review":
        return {"memory": op, "message_id": str(comment.get("id"))} if comment else {}
    if event in ("issues", "pull_request", "discussion") and item.get("number") is not None:
        prefix = "discussion" if event == "discussion" else "issue"
        return {"memory": op, "message_id": f"{prefix}-{item['number']}"}
    return {}


def _actor(sender: dict[str, Any]) -> Actor | None:
    """The GitHub account that caused the event."""
    if not sender:
        return None
    login = _login(sender)
    return Actor(id=str(sender["id"]) if sender.get("id") is not None else None, name=login,
                 is_bot=sender.get("type") == "Bot" or (login or "").endswith("[bot]"))


def _specific(event: str, body: dict[str, Any]) -> tuple[dict[str, Any], more.Content] | None:
    """Facts and content of the deliveries that are not about one item."""
    if event == "push":
        return more.push(body)
    if event in ("create", "delete"):
        return more.ref_change(event, body)
    if event == "release":
        return more.release(body)
    if event in CI_EVENTS:
        return more.ci(event, body)
    return None


def _assignees(kind: EventKind, body: dict[str, Any], item: dict[str, Any]) -> list[str]:
    """Who the event is addressed to: the (un)assigned person, the requested reviewer, or all."""
    named = _login(body.get("assignee")) if kind is EventKind.ASSIGNMENT else (
        _login(body.get("requested_reviewer")) if kind is EventKind.REVIEW_REQUEST else None)
    return [named] if named else _logins(item.get("assignees"))


def normalize(tenant_id: str, body: dict[str, Any], event_name: str | None) -> StandardEvent:
    """Normalize one GitHub delivery; ``event_name`` is the X-GitHub-Event header."""
    event = event_name or ""
    action = _str(body.get("action"))
    repo = _str(_obj(body.get("repository")).get("full_name"))
    item = _obj(body.get("pull_request")) or _obj(body.get("issue")) or _obj(body.get("discussion"))
    comment = _obj(body.get("comment")) or _obj(body.get("review"))
    kind, reason = decide(event, action, body)
    specific = _specific(event, body)

    facts: dict[str, Any] = {"repo": repo}
    if item:
        facts.update(_item_facts(action, body, item))
    if specific:
        facts.update(specific[0])
        title, text, url = specific[1]
    else:
        title = item.get("title")
        text = comment.get("body") if comment else item.get("body")
        url = (comment.get("html_url") or item.get("html_url")
               or _obj(body.get("repository")).get("html_url"))
        if event == "commit_comment":
            title = f"Comment on commit {str(comment.get('commit_id'))[:7]}"
    title, text, url = (v if isinstance(v, str) else None for v in (title, text, url))
    if comment:
        facts["review_id" if event == "pull_request_review" else "comment_id"] = comment.get("id")
        facts.update(review_state=comment.get("state") if event == "pull_request_review" else None,
                     commit_id=comment.get("commit_id"), path=comment.get("path"),
                     line=comment.get("line"), in_reply_to=comment.get("in_reply_to_id"))
    facts.update(_memory(event, action, reason, item, comment, text))
    facts.update(assignee=_login(body.get("assignee")), label=_obj(body.get("label")).get("name"),
                 hook_id=body.get("hook_id"), zen=body.get("zen"))

    number = item.get("number") if item else facts.get("number")
    thread = str(number) if number is not None else _str(comment.get("commit_id"))
    times = (comment.get("submitted_at"), comment.get("updated_at"), comment.get("created_at"),
             item.get("updated_at"), item.get("created_at"),
             _obj(body.get(event)).get("completed_at"), _obj(body.get(event)).get("updated_at"),
             body.get("updated_at"), _obj(body.get("head_commit")).get("timestamp"),
             body.get("starred_at"))
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
        ref=ItemRef(container=repo, item=thread) if repo or thread else None,
        # A comment's mentions are its own; a new issue or PR may tag people in its title too.
        mentions=extract_mentions(text if comment else f"{title or ''}\n{text or ''}"),
        assignees=_assignees(kind, body, item),
        project_hints=[ProjectHint(provider=Provider.GITHUB, kind="repo", external_id=repo)]
        if repo
        else [],
        occurred_at=next((t for t in map(_time, times) if t is not None), None),
        facts={k: v for k, v in facts.items() if v is not None},
    )
