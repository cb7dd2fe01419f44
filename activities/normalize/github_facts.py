"""Facts of the GitHub deliveries that are not about one issue or pull request.

Pushes (and the README a push changes), branch and tag creation and deletion, releases and CI
outcomes: each returns flat facts plus the title, text and link a person would read.
"""

from __future__ import annotations

import re
from typing import Any

Facts = dict[str, Any]
Content = tuple[str | None, str | None, str | None]

# A README at the repository's root, in any case, plain or Markdown or reStructuredText.
_README = re.compile(r"readme(\.md|\.rst)?", re.IGNORECASE)


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def lst(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def _default_branch(body: dict[str, Any]) -> str | None:
    repo = obj(body.get("repository"))
    branch = repo.get("default_branch") or repo.get("master_branch") or body.get("master_branch")
    return branch if isinstance(branch, str) else None


def _touches_readme(commits: list[Any]) -> bool:
    paths = [p for c in commits if isinstance(c, dict)
             for p in lst(c.get("added")) + lst(c.get("modified")) if isinstance(p, str)]
    return any(_README.fullmatch(p) for p in paths)


def push(body: dict[str, Any]) -> tuple[Facts, Content]:
    """A push: refs, commits, who pushed; ``memory=readme`` when it changes the default README."""
    ref = str(body.get("ref") or "")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    tag = ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None
    commits = lst(body.get("commits"))
    default = _default_branch(body)
    facts: Facts = {
        "ref": ref or None, "branch": branch, "tag": tag, "ref_type": "tag" if tag else "branch",
        "before": body.get("before"), "after": body.get("after"),
        "commit_count": len(commits), "created": body.get("created"),
        "deleted": body.get("deleted"), "forced": body.get("forced"),
        "pusher": obj(body.get("pusher")).get("name"), "default_branch": default,
        "change": "deleted" if body.get("deleted") else "created" if body.get("created") else None,
    }
    if branch and branch == default and _touches_readme(commits):
        facts["memory"] = "readme"
    name = branch or tag or ref
    if body.get("deleted") is True:
        title = f"{'Tag' if tag else 'Branch'} {name} deleted"
    else:
        title = f"Push to {name} ({len(commits)} commit{'' if len(commits) == 1 else 's'})"
    return facts, (title, obj(body.get("head_commit")).get("message"), body.get("compare"))


def ref_change(event: str, body: dict[str, Any]) -> tuple[Facts, Content]:
    """A ``create`` or ``delete`` delivery: a branch or tag made or removed."""
    ref_type, ref = body.get("ref_type"), body.get("ref")
    change = "created" if event == "create" else "deleted"
    facts: Facts = {"ref": ref, "ref_type": ref_type, "change": change,
                    "branch": ref if ref_type == "branch" else None,
                    "tag": ref if ref_type == "tag" else None,
                    "default_branch": _default_branch(body)}  # fmt: skip
    title = f"{str(ref_type or 'ref').capitalize()} {ref} {change}"
    return facts, (title, body.get("description"), obj(body.get("repository")).get("html_url"))


def release(body: dict[str, Any]) -> tuple[Facts, Content]:
    """A release published, created, edited, deleted..."""
    rel = obj(body.get("release"))
    facts: Facts = {"tag": rel.get("tag_name"), "release_id": rel.get("id"),
                    "release_name": rel.get("name"), "prerelease": rel.get("prerelease"),
                    "draft": rel.get("draft"), "target": rel.get("target_commitish")}
    title = f"Release {rel.get('name') or rel.get('tag_name')} {body.get('action')}"
    return facts, (title, rel.get("body"), rel.get("html_url"))


def ci(event: str, body: dict[str, Any]) -> tuple[Facts, Content]:
    """A CI outcome: which check, workflow, job, status or deployment, where, and how it ended."""
    if event == "status":
        branches = [b["name"] for b in lst(body.get("branches"))
                    if isinstance(b, dict) and isinstance(b.get("name"), str)]
        facts: Facts = {"ci": event, "name": body.get("context"), "conclusion": body.get("state"),
                        "sha": body.get("sha"), "branch": branches[0] if branches else None,
                        "branches": branches}  # fmt: skip
        return facts, (_ci_title(facts), body.get("description"), body.get("target_url"))
    if event == "deployment_status":
        status, deploy = obj(body.get("deployment_status")), obj(body.get("deployment"))
        facts = {"ci": event, "name": status.get("environment") or deploy.get("environment"),
                 "environment": status.get("environment") or deploy.get("environment"),
                 "conclusion": status.get("state"), "sha": deploy.get("sha"),
                 "branch": deploy.get("ref"), "deployment_id": deploy.get("id")}
        url = status.get("target_url") or status.get("log_url") or status.get("url")
        return facts, (_ci_title(facts), status.get("description"), url)
    run = obj(body.get(event))
    suite = obj(run.get("check_suite"))
    prs = [p["number"] for p in lst(run.get("pull_requests"))
           if isinstance(p, dict) and isinstance(p.get("number"), int)]
    facts = {
        "ci": event, "ci_id": run.get("id"),
        "name": run.get("name") or run.get("workflow_name") or obj(run.get("app")).get("name"),
        "workflow": run.get("workflow_name") or (run.get("name") if event == "workflow_run"
                                                  else None),
        "status": run.get("status"), "conclusion": run.get("conclusion"),
        "sha": run.get("head_sha"), "branch": run.get("head_branch") or suite.get("head_branch"),
        "pull_numbers": prs, "number": prs[0] if len(prs) == 1 else None,
        "run_attempt": run.get("run_attempt"), "run_id": run.get("run_id"),
    }
    url = run.get("html_url") or run.get("details_url") or run.get("url")
    text = obj(run.get("output")).get("summary") or run.get("display_title")
    return facts, (_ci_title(facts), text, url)


def _ci_title(facts: Facts) -> str:
    where = f" on {facts['branch']}" if facts.get("branch") else ""
    what = facts.get("name") or facts["ci"]
    return f"{what}: {facts.get('conclusion') or facts.get('status') or 'unknown'}{where}"
