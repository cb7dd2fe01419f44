"""The deliberate decision for every event and action of GitHub's webhook catalog.

Work an agent can act on gets a kind; everything else is ignored with a reason that says why.
Pull requests, reviews, review comments and threads, issues in every action, issue and commit
comments, discussions and their comments, pushes, branch and tag creation and deletion, releases
and CI outcomes are never ignored (a comment's edit or deletion is: it only updates memory). CI
runs that have no outcome yet (queued, in progress, requested) are ignored: their completion
arrives as its own delivery and carries the outcome.
"""

from __future__ import annotations

from typing import Any

from workflows.contracts import EventKind

K = EventKind

# The CI events: a failure is work whoever reported it (often an app), so no bot filter here.
CI_EVENTS = {"check_run", "check_suite", "workflow_run", "workflow_job", "deployment_status",
             "status"}  # fmt: skip
FAILED = {"failure", "timed_out", "action_required", "startup_failure", "error"}
COMMENT_EVENTS = {"issue_comment", "pull_request_review_comment", "discussion_comment",
                  "commit_comment"}  # fmt: skip

_ISSUES = {"opened": K.NEW_WORK_ITEM, "closed": K.STATUS_CHANGE, "reopened": K.STATUS_CHANGE,
           "deleted": K.STATUS_CHANGE, "assigned": K.ASSIGNMENT, "unassigned": K.ASSIGNMENT}
_PULLS = {"opened": K.NEW_WORK_ITEM, "reopened": K.NEW_WORK_ITEM, "synchronize": K.CODE_PUSH,
          "closed": K.STATUS_CHANGE, "merged": K.STATUS_CHANGE,
          "ready_for_review": K.STATUS_CHANGE, "converted_to_draft": K.STATUS_CHANGE,
          "assigned": K.ASSIGNMENT, "unassigned": K.ASSIGNMENT,
          "review_requested": K.REVIEW_REQUEST, "review_request_removed": K.REVIEW_REQUEST}
_DISCUSSIONS = {"created": K.NEW_WORK_ITEM, "answered": K.STATUS_CHANGE,
                "unanswered": K.STATUS_CHANGE, "closed": K.STATUS_CHANGE,
                "reopened": K.STATUS_CHANGE, "deleted": K.STATUS_CHANGE}
# Every other action of these is an update of the item (edited, labeled, milestoned, locked...).
_ITEMS = {"issues": _ISSUES, "pull_request": _PULLS, "discussion": _DISCUSSIONS}
# Where an item event carries its item; one without any is refused (ignored), not guessed at.
ITEM_KEYS = ("issue", "pull_request", "discussion")
ITEM_EVENTS = {*_ITEMS, *COMMENT_EVENTS, "pull_request_review", "pull_request_review_thread"} - {
    "commit_comment"}

# Events nobody on the swarm acts on, and why.
_NOT_WORK = {
    "ping": "webhook ping (sent once when the hook is created)",
    "star": "a star is not work", "watch": "a watch (star) is not work",
    "fork": "a fork of the repository is not work",
    "public": "repository made public: administration, not work",
    "repository": "repository settings or lifecycle: administration, not work",
    "repository_import": "repository import progress: administration, not work",
    "branch_protection_rule": "branch protection settings: administration, not work",
    "deploy_key": "deploy keys: administration, not work",
    "label": "a label defined or removed in the repository (labels on items arrive on the item)",
    "milestone": "a milestone itself changed (milestones on items arrive on the item)",
    "member": "collaborator access: administration, not work",
    "membership": "team membership: administration, not work",
    "organization": "organization membership: administration, not work",
    "org_block": "a user blocked or unblocked: administration, not work",
    "team": "team settings: administration, not work",
    "team_add": "a team given access: administration, not work",
    "installation": "the GitHub App installation itself changed",
    "installation_repositories": "repositories added to or removed from the App installation",
    "installation_target": "the App installation's account was renamed",
    "github_app_authorization": "a user revoked the App's authorization",
    "marketplace_purchase": "a Marketplace purchase: billing, not work",
    "sponsorship": "a sponsorship: billing, not work",
    "meta": "the webhook itself was deleted",
    "package": "a package published or updated: no agent acts on registries",
    "registry_package": "a package published or updated: no agent acts on registries",
    "page_build": "a GitHub Pages build: not work",
    "gollum": "a wiki page changed: wikis are not tracked",
    "project": "a classic project board changed: boards are not tracked",
    "project_card": "a classic project card changed: boards are not tracked",
    "project_column": "a classic project column changed: boards are not tracked",
    "projects_v2": "a project (v2) changed: boards are not tracked",
    "projects_v2_item": "a project (v2) item changed: the issue's own events carry the work",
    "deployment": "a deployment created: its outcome arrives as deployment_status",
    "deployment_review": "a deployment waits for a person's approval, not an agent's",
    "deployment_protection_rule": "a deployment protection rule is for its own app",
    "workflow_dispatch": "a workflow started by hand: its outcome arrives as workflow_run",
    "repository_dispatch": "a custom dispatch for workflows: its outcome arrives as workflow_run",
    "merge_group": "merge queue asks CI to run: the outcome arrives as check or workflow events",
    "code_scanning_alert": "security alerts go to the security team, not to agents",
    "dependabot_alert": "security alerts go to the security team, not to agents",
    "secret_scanning_alert": "security alerts go to the security team, not to agents",
    "secret_scanning_alert_location": "security alerts go to the security team, not to agents",
    "repository_vulnerability_alert": "security alerts go to the security team, not to agents",
    "security_advisory": "a global security advisory, not about this repository's work",
    "repository_advisory": "security advisories go to the security team, not to agents",
    "security_and_analysis": "security settings: administration, not work",
    "cache_sync": "Enterprise Server cache replica sync: infrastructure, not work",
    "enterprise": "Enterprise Server settings: administration, not work",
    "user": "Enterprise Server user account created or deleted: administration, not work",
    "content_reference": "a content reference for a retired App feature",
}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ci(event: str, action: str | None, body: dict[str, Any]) -> tuple[K, str | None]:
    """A CI delivery: a failure, another outcome, or not an outcome yet."""
    run = _obj(body.get(event))
    if event in ("deployment_status", "status"):
        state = body.get("state") if event == "status" else run.get("state")
        if state in FAILED:
            return K.CI_FAILURE, None
        if state in ("success", "inactive"):
            return K.CI_RESULT, None
        return K.IGNORE, f"{event} {state or 'unknown'}: no outcome yet"
    if action == "completed":
        return (K.CI_FAILURE if run.get("conclusion") in FAILED else K.CI_RESULT), None
    if run.get("conclusion") == "action_required" and action == "requested":
        return K.IGNORE, f"{event}.requested waits for a maintainer's approval to run"
    if action == "requested_action":
        return K.IGNORE, "check_run.requested_action is for the app that created the check run"
    if event == "check_suite":
        return K.IGNORE, f"check_suite.{action} asks a CI app to run checks: no outcome yet"
    return K.IGNORE, f"{event}.{action} has no outcome yet: its completed event carries it"


def decide(event: str, action: str | None, body: dict[str, Any]) -> tuple[K, str | None]:
    """The kind of one GitHub delivery, and the reason when it is ignored."""
    sender = _obj(body.get("sender"))
    login = str(sender.get("login") or "")
    name = f"{event}.{action}" if action else event
    if not event:
        return K.IGNORE, "no GitHub event name (X-GitHub-Event header missing)"
    if event in CI_EVENTS:
        return _ci(event, action, body)
    if sender.get("type") == "Bot" or login.endswith("[bot]"):
        return K.IGNORE, f"sent by a bot ({login})"
    if event == "push":
        ref = str(body.get("ref") or "")
        deleted = body.get("deleted") is True
        return (K.REF_CHANGE if deleted or ref.startswith("refs/tags/") else K.CODE_PUSH), None
    if event in ("create", "delete"):
        return K.REF_CHANGE, None
    if event in ITEM_EVENTS and not any(isinstance(body.get(k), dict) for k in ITEM_KEYS):
        return K.IGNORE, f"{name} payload has no issue, pull request or discussion"
    if event in _ITEMS:
        return _ITEMS[event].get(action or "", K.UPDATE), None
    if event in COMMENT_EVENTS or event == "pull_request_review":
        if action in ("created", "submitted"):
            return (K.COMMENT if event in COMMENT_EVENTS else K.REVIEW), None
        if action == "dismissed":
            return K.REVIEW, None
        if action in ("edited", "deleted"):
            what = "review" if event == "pull_request_review" else "comment"
            return K.IGNORE, f"{what} {action}: memory updated"
    if event == "pull_request_review_thread":
        return K.UPDATE, None
    if event == "release":
        return K.RELEASE, None
    if event in _NOT_WORK:
        return K.IGNORE, f"{name}: {_NOT_WORK[event]}"
    return K.IGNORE, f"GitHub event {name} is not in the catalog this version knows"
