"""Normalizers against real provider payloads, plus the behaviours users rely on."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from activities.normalize import extract_mentions, normalize
from tests import corpus
from workflows.contracts import EventKind, Provider, StandardEvent

ENTRIES = corpus.entries(catalog=True)


def _normalize_entry(entry: dict[str, Any]) -> StandardEvent:
    body = json.loads(corpus.body(entry))
    event_name = entry["headers"].get("X-GitHub-Event") if entry["provider"] == "github" else None
    return normalize(Provider(entry["provider"]), "tenant-1", body, event_name)


def _values(node: Any, out: list[Any]) -> list[Any]:
    """Every leaf value and every list found anywhere in a dumped event."""
    if isinstance(node, dict):
        for value in node.values():
            _values(value, out)
    elif isinstance(node, list):
        out.append(node)
        for value in node:
            _values(value, out)
    else:
        out.append(node)
    return out


def _present(expected: Any, values: list[Any]) -> bool:
    # Same type as well as equal, so that 1 never matches True.
    return any(type(v) is type(expected) and v == expected for v in values)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_corpus_entry(entry: dict[str, Any]) -> None:
    event = _normalize_entry(entry)
    expect = entry["expect"]

    assert event.kind.value in expect["acceptable_kinds"], event.ignore_reason
    assert event.provider.value == entry["provider"]
    assert event.tenant_id == "tenant-1"
    assert (event.ignore_reason is not None) == (event.kind is EventKind.IGNORE)
    if event.ignore_reason is not None:
        assert event.ignore_reason.strip()
    if event.occurred_at is not None:
        assert event.occurred_at.utcoffset() == timedelta(0)

    values = _values(event.model_dump(mode="json"), [])
    missing = {k: v for k, v in expect["facts"].items() if not _present(v, values)}
    assert not missing, f"facts not found in the event: {missing}"


def test_corpus_covers_every_provider_and_event() -> None:
    assert {e["id"] for e in ENTRIES} >= {
        "github.issues.opened", "github.issues.assigned", "github.issues.labeled",
        "github.issue_comment.created", "github.pull_request.opened",
        "github.pull_request.closed", "github.push.branch", "github.star.created", "github.ping",
        "slack.app_mention", "slack.message.channel", "slack.message.bot_message_subtype",
        "slack.reaction_added", "slack.url_verification",
        "clickup.taskCreated", "clickup.taskUpdated.content", "clickup.taskStatusUpdated",
        "clickup.taskPriorityUpdated", "clickup.taskCommentPosted", "clickup.listCreated",
    }


# --- GitHub -------------------------------------------------------------------------------------

REPO = {"full_name": "acme/api", "html_url": "https://github.com/acme/api"}
HUMAN = {"login": "octo-cat", "id": 7, "type": "User"}


def _issue(**extra: Any) -> dict[str, Any]:
    issue = {
        "number": 42,
        "title": "Login fails",
        "body": "@AI_Squad please look, cc @octo-cat",
        "html_url": "https://github.com/acme/api/issues/42",
        "state": "open",
        "labels": [{"name": "bug"}],
        "assignees": [{"login": "alice"}],
        "updated_at": "2024-05-01T10:00:00Z",
    }
    return issue | extra


def test_github_issue_opened_is_a_new_work_item() -> None:
    body = {"action": "opened", "issue": _issue(), "repository": REPO, "sender": HUMAN}
    event = normalize(Provider.GITHUB, "t", body, "issues")
    assert event.kind is EventKind.NEW_WORK_ITEM
    assert event.source_event == "issues.opened"
    assert event.ref is not None and (event.ref.container, event.ref.item) == ("acme/api", "42")
    assert event.mentions == ["AI_Squad", "octo-cat"]
    assert event.assignees == ["alice"]
    assert [h.external_id for h in event.project_hints] == ["acme/api"]
    assert event.facts["labels"] == ["bug"]
    assert event.occurred_at is not None and event.occurred_at.isoformat() == (
        "2024-05-01T10:00:00+00:00"
    )


@pytest.mark.parametrize(
    "sender",
    [
        {"login": "renovate", "id": 1, "type": "Bot"},
        {"login": "dependabot[bot]", "id": 2, "type": "User"},
    ],
)
def test_github_bot_sender_is_ignored(sender: dict[str, Any]) -> None:
    body = {"action": "opened", "issue": _issue(), "repository": REPO, "sender": sender}
    event = normalize(Provider.GITHUB, "t", body, "issues")
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and "bot" in event.ignore_reason
    assert event.actor is not None and event.actor.is_bot


@pytest.mark.parametrize(
    ("event_name", "action", "named"),
    [
        ("security_advisory", "published", "security_advisory.published"),
        ("merge_group", "checks_requested", "merge_group.checks_requested"),
        ("not_yet_invented", "created", "not_yet_invented.created"),
    ],
)
def test_github_event_nobody_acts_on_is_ignored_by_name(
    event_name: str, action: str, named: str
) -> None:
    body = {"action": action, "issue": _issue(), "repository": REPO, "sender": HUMAN}
    event = normalize(Provider.GITHUB, "t", body, event_name)
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and named in event.ignore_reason


def test_github_missing_event_name_is_ignored_not_raised() -> None:
    event = normalize(Provider.GITHUB, "t", {"action": "opened", "issue": _issue()}, None)
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason


def test_github_assignment_names_only_the_new_assignee() -> None:
    body = {
        "action": "assigned",
        "issue": _issue(),
        "assignee": {"login": "bob"},
        "repository": REPO,
        "sender": HUMAN,
    }
    event = normalize(Provider.GITHUB, "t", body, "issues")
    assert event.kind is EventKind.ASSIGNMENT
    assert event.assignees == ["bob"]
    assert event.facts["assignee"] == "bob"


def test_github_comment_on_pull_request() -> None:
    issue = _issue(pull_request={"url": "https://api.github.com/repos/acme/api/pulls/42"})
    comment = {"id": 9, "body": "@AI_Squad rebase please", "html_url": "https://x/c/9"}
    body = {"action": "created", "issue": issue, "comment": comment, "repository": REPO,
            "sender": HUMAN}  # fmt: skip
    event = normalize(Provider.GITHUB, "t", body, "issue_comment")
    assert event.kind is EventKind.COMMENT
    assert event.text == "@AI_Squad rebase please"
    assert event.mentions == ["AI_Squad"]  # the issue body's mentions are not the comment's
    assert event.facts["is_pull_request"] is True
    assert event.facts["comment_id"] == 9


def test_github_merged_pull_request_is_a_status_change() -> None:
    pr = {"number": 3, "state": "closed", "merged": True, "head": {}, "base": {}}
    body = {"action": "closed", "pull_request": pr, "repository": REPO, "sender": HUMAN}
    event = normalize(Provider.GITHUB, "t", body, "pull_request")
    assert event.kind is EventKind.STATUS_CHANGE
    assert (event.facts["new_state"], event.facts["merged"]) == ("closed", True)


# --- Slack --------------------------------------------------------------------------------------


def _slack(event: dict[str, Any]) -> dict[str, Any]:
    base = {"type": "message", "channel": "C1", "user": "U1", "ts": "1700000000.000200"}
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": base | event}


@pytest.mark.parametrize(
    "extra",
    [{"bot_id": "B1"}, {"subtype": "bot_message", "bot_id": "B1"}, {"subtype": "bot_message"}],
)
def test_slack_bot_messages_are_ignored(extra: dict[str, Any]) -> None:
    event = normalize(Provider.SLACK, "t", _slack({"text": "<@U9> deploy"} | extra))
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and "bot" in event.ignore_reason
    assert event.actor is not None and event.actor.is_bot


def test_slack_bot_app_mention_is_ignored() -> None:
    body = _slack({"type": "app_mention", "text": "<@U9> hi", "bot_id": "B1"})
    assert normalize(Provider.SLACK, "t", body).kind is EventKind.IGNORE


@pytest.mark.parametrize("etype", ["message", "app_mention"])
def test_slack_thread_reply_is_a_comment_on_the_root(etype: str) -> None:
    body = _slack({"type": etype, "text": "done?", "thread_ts": "1700000000.000100"})
    event = normalize(Provider.SLACK, "t", body)
    assert event.kind is EventKind.COMMENT
    assert event.ref is not None
    assert (event.ref.container, event.ref.item) == ("C1", "1700000000.000100")
    assert event.source_event == f"event_callback/{etype}"


def test_slack_thread_root_message_is_new_work() -> None:
    body = _slack({"text": "<@U9|ai> fix the build", "thread_ts": "1700000000.000200"})
    event = normalize(Provider.SLACK, "t", body)
    assert event.kind is EventKind.NEW_WORK_ITEM
    assert event.ref is not None and event.ref.item == "1700000000.000200"
    assert event.mentions == ["U9"]
    assert event.occurred_at is not None and event.occurred_at.year == 2023


@pytest.mark.parametrize("subtype", ["channel_join", "channel_topic", "reminder_add"])
def test_slack_housekeeping_subtypes_are_ignored(subtype: str) -> None:
    event = normalize(Provider.SLACK, "t", _slack({"subtype": subtype}))
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and subtype in event.ignore_reason


def test_slack_unknown_event_type_is_ignored() -> None:
    event = normalize(Provider.SLACK, "t", _slack({"type": "channel_created"}))
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and "channel_created" in event.ignore_reason


def test_slack_unknown_outer_type_is_ignored() -> None:
    event = normalize(Provider.SLACK, "t", {"type": "app_rate_limited", "team_id": "T1"})
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and "app_rate_limited" in event.ignore_reason


# --- ClickUp ------------------------------------------------------------------------------------


def test_clickup_unknown_event_is_ignored() -> None:
    body = {"event": "goalCreated", "webhook_id": "w1"}
    event = normalize(Provider.CLICKUP, "t", body)
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason is not None and "goalCreated" in event.ignore_reason


def test_clickup_assignee_added_is_an_assignment() -> None:
    user = {"id": 183, "username": "John"}
    item = {"field": "assignee_add", "parent_id": "900", "date": "1642734631523", "user": user,
            "after": {"id": 184, "username": "Mia"}}  # fmt: skip
    body = {"event": "taskAssigneeUpdated", "task_id": "abc", "history_items": [item]}
    event = normalize(Provider.CLICKUP, "t", body)
    assert event.kind is EventKind.ASSIGNMENT
    assert event.assignees == ["Mia"]
    assert event.actor is not None and (event.actor.id, event.actor.name) == ("183", "John")
    assert event.ref is not None and (event.ref.container, event.ref.item) == ("900", "abc")
    assert event.url == "https://app.clickup.com/t/abc"


# --- all providers ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(Provider))
def test_empty_body_is_ignored_not_raised(provider: Provider) -> None:
    event = normalize(provider, "t", {}, None)
    assert event.kind is EventKind.IGNORE
    assert event.ignore_reason


# --- extract_mentions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U123> hello", ["U123"]),
        ("<@U123|alice> and <@W456>", ["U123", "W456"]),
        ("ping @AI_Squad and @octo-cat.", ["AI_Squad", "octo-cat"]),
        ("@bob then <@U1> then @bob again <@U1>", ["bob", "U1"]),
        ("mail john@company.com or @jane", ["jane"]),
        ("no mentions here", []),
        ("", []),
    ],
)
def test_extract_mentions(text: str, expected: list[str]) -> None:
    assert extract_mentions(text) == expected
