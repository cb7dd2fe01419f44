"""GitHub's whole webhook catalog: every published example gets its deliberate kind and facts.

The fixtures are every example of ``@octokit/webhooks-examples`` (github.com and Enterprise
Server); ``test_normalize_corpus`` checks each against its ``expect``. Here: the events issue #13
names are never ignored, ignoring always says why, each kind carries the facts an agent needs,
and the cases the catalog has no example of (an approval without a body, a merge, a CI failure
reported by an app, a README push) behave.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from activities.normalize import normalize
from tests import corpus
from workflows.contracts import EventKind, Provider, StandardEvent

CATALOG = corpus.entries("github", catalog=True)
K = EventKind

# Deliveries that must reach an agent: (event, action or None for any action).
NAMED: set[tuple[str, str | None]] = {
    ("issues", None), ("discussion", None), ("release", None), ("push", None),
    ("create", None), ("delete", None), ("pull_request_review_thread", None),
    *{("pull_request", a) for a in (
        "opened", "reopened", "synchronize", "closed", "merged", "ready_for_review",
        "converted_to_draft", "assigned", "unassigned", "review_requested",
        "review_request_removed")},
    ("pull_request_review", "submitted"), ("pull_request_review", "dismissed"),
    ("pull_request_review_comment", "created"), ("issue_comment", "created"),
    ("commit_comment", "created"), ("discussion_comment", "created"),
    ("check_run", "completed"), ("check_suite", "completed"), ("workflow_run", "completed"),
    ("workflow_job", "completed"),
}
CI_OUTCOME = {"success", "failure", "error", "neutral", "cancelled", "skipped", "timed_out",
              "action_required", "inactive"}  # fmt: skip
# Facts each kind must carry, whatever the example.
REQUIRED: dict[EventKind, tuple[str, ...]] = {
    K.NEW_WORK_ITEM: ("repo", "number"), K.STATUS_CHANGE: ("repo", "number", "new_state"),
    K.ASSIGNMENT: ("repo", "number", "assignee", "change"),
    K.UPDATE: ("repo", "number", "change"), K.COMMENT: ("repo", "memory", "message_id"),
    K.REVIEW: ("repo", "number", "review_id", "review_state"),
    K.REVIEW_REQUEST: ("repo", "number", "change"), K.CODE_PUSH: ("repo",),
    K.REF_CHANGE: ("repo", "ref", "ref_type", "change"), K.RELEASE: ("repo", "tag"),
    K.CI_FAILURE: ("repo", "ci", "conclusion"), K.CI_RESULT: ("repo", "ci"),
}


def _event(entry: dict[str, Any]) -> StandardEvent:
    body = json.loads(corpus.body(entry))
    return normalize(Provider.GITHUB, "t", body, entry["headers"]["X-GitHub-Event"])


def _named(entry: dict[str, Any]) -> bool:
    body = json.loads(corpus.body(entry))
    event, action = entry["source"]["event"], body.get("action")
    if event in ("deployment_status", "status"):  # named when it is an outcome
        state = body.get("state") or body.get("deployment_status", {}).get("state")
        return state in CI_OUTCOME
    return (event, None) in NAMED or (event, action) in NAMED


def test_catalog_is_whole() -> None:
    """Every example of the package is a fixture: github.com's and Enterprise Server's."""
    catalogs = {e["source"].get("catalog", "api.github.com") for e in CATALOG}
    assert {"api.github.com", "ghes-35"} <= catalogs
    assert len(CATALOG) >= 400
    assert all(e["expect"]["acceptable_kinds"] == [e["expect"]["kind"]] for e in CATALOG)


@pytest.mark.parametrize("entry", [e for e in CATALOG if _named(e)], ids=lambda e: e["id"])
def test_named_events_reach_an_agent_with_their_facts(entry: dict[str, Any]) -> None:
    event = _event(entry)
    assert event.kind is not K.IGNORE, event.ignore_reason
    missing = [f for f in REQUIRED[event.kind] if f not in event.facts]
    # A push, a ref change or a CI outcome is about a branch; CI on a pull request names it.
    assert not missing, f"{event.kind}: missing {missing} in {event.facts}"
    assert event.ref is not None and event.ref.container == event.facts["repo"]


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e["id"])
def test_ignored_events_say_specifically_why(entry: dict[str, Any]) -> None:
    event = _event(entry)
    if event.kind is not K.IGNORE:
        return
    reason = event.ignore_reason or ""
    assert "not in the catalog" not in reason and "not handled" not in reason, reason
    assert entry["source"]["event"] in reason or "memory updated" in reason, reason


def test_every_named_action_of_the_catalog_has_an_example_or_a_test() -> None:
    seen = {(e["source"]["event"], e["source"].get("action")) for e in CATALOG}
    no_example = {n for n in NAMED if n[1] is not None and n not in seen}
    # pull_request.merged is in GitHub's action list but is delivered as closed + merged=true.
    assert no_example <= {("pull_request", "merged")}


# --- what the catalog has no example of ------------------------------------------------------

REPO = {"full_name": "acme/api", "html_url": "https://github.com/acme/api",
        "default_branch": "main"}
HUMAN = {"login": "octo-cat", "id": 7, "type": "User"}
PR = {"number": 3, "title": "Fix login", "state": "open", "html_url": "https://x/pull/3",
      "head": {"ref": "fix", "sha": "abc"}, "base": {"ref": "main"}, "user": {"login": "mia"}}


def _gh(event: str, **body: Any) -> StandardEvent:
    return normalize(Provider.GITHUB, "t", {"repository": REPO, "sender": HUMAN} | body, event)


@pytest.mark.parametrize(("state", "text"), [
    ("approved", None), ("approved", ""), ("changes_requested", "Needs tests"),
    ("commented", "Looks fine"), ("dismissed", None),
])
def test_review_in_every_state_reaches_an_agent(state: str, text: str | None) -> None:
    review = {"id": 5, "state": state, "body": text, "html_url": "https://x/pull/3#r5"}
    event = _gh("pull_request_review", action="submitted", review=review, pull_request=PR)
    assert event.kind is K.REVIEW
    assert (event.facts["review_state"], event.facts["number"]) == (state, 3)
    assert event.ref is not None and (event.ref.container, event.ref.item) == ("acme/api", "3")
    if text:  # a review's words are remembered like a comment
        assert (event.facts["memory"], event.facts["message_id"], event.text) == (
            "add", "5", text)
    else:
        assert "memory" not in event.facts


def test_merged_pull_request_and_new_commits() -> None:
    merged = _gh("pull_request", action="closed",
                 pull_request=PR | {"state": "closed", "merged": True})
    assert (merged.kind, merged.facts["merged"], merged.facts["new_state"]) == (
        K.STATUS_CHANGE, True, "closed")
    pushed = _gh("pull_request", action="synchronize", pull_request=PR, before="a1", after="b2")
    assert pushed.kind is K.CODE_PUSH
    assert (pushed.facts["before"], pushed.facts["after"], pushed.facts["head_ref"]) == (
        "a1", "b2", "fix")


def test_review_request_is_addressed_to_the_reviewer() -> None:
    event = _gh("pull_request", action="review_requested", pull_request=PR,
                requested_reviewer={"login": "reviewer-bot-1"})
    assert event.kind is K.REVIEW_REQUEST
    assert event.assignees == ["reviewer-bot-1"]
    assert event.facts["requested_reviewer"] == "reviewer-bot-1"
    removed = _gh("pull_request", action="unassigned", pull_request=PR,
                  assignee={"login": "alice"})
    assert (removed.kind, removed.assignees, removed.facts["change"]) == (
        K.ASSIGNMENT, ["alice"], "unassigned")


@pytest.mark.parametrize("sender", [HUMAN, {"login": "github-actions[bot]", "id": 9,
                                            "type": "Bot"}])
def test_ci_failure_on_a_branch_is_work_whoever_reports_it(sender: dict[str, Any]) -> None:
    run = {"id": 1, "name": "tests", "status": "completed", "conclusion": "failure",
           "head_branch": "feat/login", "head_sha": "abc", "html_url": "https://x/runs/1",
           "pull_requests": [{"number": 3}]}
    event = normalize(Provider.GITHUB, "t", {"action": "completed", "check_run": run,
                                             "repository": REPO, "sender": sender}, "check_run")
    assert event.kind is K.CI_FAILURE
    assert (event.facts["branch"], event.facts["conclusion"], event.facts["number"]) == (
        "feat/login", "failure", 3)
    assert event.title == "tests: failure on feat/login"
    assert event.ref is not None and event.ref.item == "3"


@pytest.mark.parametrize(("event_name", "body", "kind"), [
    ("deployment_status", {"deployment_status": {"state": "failure", "environment": "prod"},
                           "deployment": {"ref": "main", "sha": "abc"}}, K.CI_FAILURE),
    ("deployment_status", {"deployment_status": {"state": "pending"}, "deployment": {}},
     K.IGNORE),
    ("status", {"state": "error", "context": "ci/lint", "sha": "abc",
                "branches": [{"name": "main"}]}, K.CI_FAILURE),
    ("status", {"state": "pending", "context": "ci/lint", "sha": "abc"}, K.IGNORE),
    ("workflow_job", {"action": "queued", "workflow_job": {"status": "queued"}}, K.IGNORE),
])
def test_ci_states(event_name: str, body: dict[str, Any], kind: EventKind) -> None:
    event = _gh(event_name, **body)
    assert event.kind is kind, event.ignore_reason
    if kind is K.CI_FAILURE:
        assert event.facts["branch"] == "main"


def _push(ref: str, *paths: str, deleted: bool = False) -> StandardEvent:
    commits = [] if deleted else [{"id": "c1", "added": [], "modified": list(paths)}]
    return _gh("push", ref=ref, deleted=deleted, commits=commits, before="a", after="b")


@pytest.mark.parametrize(("ref", "path", "readme"), [
    ("refs/heads/main", "README.md", True), ("refs/heads/main", "readme", True),
    ("refs/heads/main", "ReadMe.rst", True), ("refs/heads/main", "docs/README.md", False),
    ("refs/heads/feat", "README.md", False), ("refs/heads/main", "src/app.py", False),
])
def test_push_that_changes_the_default_readme(ref: str, path: str, readme: bool) -> None:
    event = _push(ref, path)
    assert event.kind is K.CODE_PUSH
    assert (event.facts.get("memory") == "readme") is readme
    assert (event.facts["repo"], event.facts["default_branch"]) == ("acme/api", "main")


def test_branch_and_tag_creation_and_deletion() -> None:
    gone = _push("refs/heads/old", deleted=True)
    assert (gone.kind, gone.facts["change"], gone.facts["branch"]) == (
        K.REF_CHANGE, "deleted", "old")
    made = _gh("create", ref="v1.0", ref_type="tag")
    assert (made.kind, made.facts["tag"], made.title) == (K.REF_CHANGE, "v1.0", "Tag v1.0 created")


@pytest.mark.parametrize(("action", "memory"), [("edited", "edit"), ("deleted", "delete")])
def test_comment_edits_and_deletions_update_memory(action: str, memory: str) -> None:
    issue = {"number": 4, "title": "Bug", "html_url": "https://x/issues/4"}
    comment = {"id": 77, "body": "new words", "user": {"login": "octo-cat"}}
    event = _gh("issue_comment", action=action, issue=issue, comment=comment,
                changes={"body": {"from": "old words"}})
    assert event.kind is K.IGNORE and event.ignore_reason == f"comment {action}: memory updated"
    assert (event.facts["memory"], event.facts["message_id"], event.facts["number"]) == (
        memory, "77", 4)
    assert event.ref is not None and (event.ref.container, event.ref.item) == ("acme/api", "4")
    assert event.text == "new words"


def test_bot_comment_is_ignored_and_not_remembered_as_a_person() -> None:
    issue = {"number": 4, "title": "Bug"}
    event = normalize(Provider.GITHUB, "t", {
        "action": "created", "issue": issue, "comment": {"id": 1, "body": "done"},
        "repository": REPO, "sender": {"login": "ci[bot]", "type": "Bot"}}, "issue_comment")
    assert event.kind is K.IGNORE and "memory" not in event.facts


@pytest.mark.parametrize("event", ["issues", "pull_request", "issue_comment",
                                   "pull_request_review", "discussion_comment"])
def test_an_item_event_without_its_item_is_ignored_with_why(event: str) -> None:
    """A signed delivery whose issue/PR is not an object reaches no agent (nothing to hand it)."""
    body = {"action": "opened", "issue": "not an object", "repository": 7}
    got = normalize(Provider.GITHUB, "t", body, event)
    assert got.kind is K.IGNORE
    assert "has no issue, pull request or discussion" in str(got.ignore_reason)
