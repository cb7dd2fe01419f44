"""The GitHub, Slack and ClickUp executors, through their real client libraries and real git.

Each executor runs against a local fake over real HTTP (and ``git http-backend`` for pushes), with
an ``ExecutionContext`` built directly: no grants, vault or Temporal involved here.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from infra.gateway import clickup, github, slack
from infra.gateway.base import ExecutionContext, GatewayError
from infra.settings import GatewaySettings
from tests.fakes.clickup_api import FakeClickUp
from tests.fakes.git_http import FakeGitRemote, commit, git, make_workspace
from tests.fakes.github_api import SECONDARY_LIMIT, FakeGitHub
from tests.fakes.slack_api import FakeSlack
from tests.gateway.conftest import TOKEN

BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def context(token: str = TOKEN, **settings: Any) -> ExecutionContext:
    """An execution context for tenant acme's agent coder."""
    return ExecutionContext(tenant_id="acme", agent_id="coder", credential=token,
                            settings=GatewaySettings(timeout_seconds=10, **settings),
                            idempotency_key="acme:coder:1")


def push_args(workspace: str = "acme/frontend", branch: str = "feat/login") -> github.PushArgs:
    """github_push arguments for acme/frontend."""
    return github.PushArgs(repo="acme/frontend", branch=branch, workspace=workspace)


def branch_sha(bare: Path, branch: str) -> str:
    """Where a branch of a bare repository points."""
    return git("--git-dir", str(bare), "rev-parse", f"refs/heads/{branch}")


# --- github_push ------------------------------------------------------------------------------


async def test_push_lands_commit_without_leaking_token(tmp_path: Path,
                                                       git_remote: FakeGitRemote) -> None:
    workspace = tmp_path / "ws" / "acme" / "frontend"
    make_workspace(workspace)
    sha = commit(workspace, {"login.py": "def login() -> None: ...\n"})
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    result = await github.push(push_args(), ctx)

    assert result == {"repo": "acme/frontend", "branch": "feat/login", "pushed_sha": sha}
    assert branch_sha(git_remote.root / "acme/frontend.git", "feat/login") == sha
    receive = [r for r in git_remote.requests if r.path.endswith("git-receive-pack")]
    assert receive and all(r.authorized for r in git_remote.requests)
    assert not git_remote.token_in_url
    for path in (workspace / ".git").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and BASIC.encode() not in data, path
    assert TOKEN not in repr(result)


async def test_push_again_fast_forwards(tmp_path: Path, git_remote: FakeGitRemote) -> None:
    workspace = tmp_path / "ws" / "acme" / "frontend"
    make_workspace(workspace)
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")
    await github.push(push_args(), ctx)
    second = commit(workspace, {"b.txt": "b\n"})

    assert (await github.push(push_args(), ctx))["pushed_sha"] == second
    assert branch_sha(git_remote.root / "acme/frontend.git", "feat/login") == second


async def test_push_with_wrong_token_is_final_and_scrubbed(tmp_path: Path,
                                                          git_remote: FakeGitRemote) -> None:
    make_workspace(tmp_path / "ws" / "acme" / "frontend")
    wrong = "tok-wrong-0000-secret"
    ctx = context(wrong, github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    with pytest.raises(GatewayError) as info:
        await github.push(push_args(), ctx)

    assert info.value.retryable is False
    assert "refused the token" in info.value.message
    encoded = base64.b64encode(f"x-access-token:{wrong}".encode()).decode()
    assert wrong not in str(info.value) and encoded not in str(info.value)


async def test_push_server_error_is_retryable(tmp_path: Path, git_remote: FakeGitRemote) -> None:
    make_workspace(tmp_path / "ws" / "acme" / "frontend")
    git_remote.fail_next(503)
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    with pytest.raises(GatewayError) as info:
        await github.push(push_args(), ctx)

    assert info.value.retryable is True


async def test_push_rejected_non_fast_forward_is_final(tmp_path: Path,
                                                       git_remote: FakeGitRemote) -> None:
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")
    make_workspace(tmp_path / "ws" / "acme" / "one")
    make_workspace(tmp_path / "ws" / "acme" / "two", {"other.txt": "unrelated history\n"})
    await github.push(push_args("acme/one"), ctx)

    with pytest.raises(GatewayError) as info:
        await github.push(push_args("acme/two"), ctx)

    assert info.value.retryable is False
    assert "rejected" in info.value.message


@pytest.mark.parametrize("workspace", ["/etc", "../outside", "acme/../../outside", ".", "acme",
                                       "acme/escape", "other/frontend"])
async def test_push_refuses_workspace_outside_root(tmp_path: Path, git_remote: FakeGitRemote,
                                                   workspace: str) -> None:
    make_workspace(tmp_path / "outside")
    (tmp_path / "ws" / "acme").mkdir(parents=True)
    (tmp_path / "ws" / "acme" / "escape").symlink_to(tmp_path / "outside")
    make_workspace(tmp_path / "ws" / "other" / "frontend")  # another tenant's workspace
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    with pytest.raises(GatewayError) as info:
        await github.push(push_args(workspace), ctx)

    assert info.value.retryable is False
    assert git_remote.requests == []


async def test_push_refuses_a_directory_that_is_not_a_working_copy(
        tmp_path: Path, git_remote: FakeGitRemote) -> None:
    # The workspaces root itself lives inside a repository: git must not walk up to it.
    make_workspace(tmp_path)
    (tmp_path / "ws" / "acme" / "plain").mkdir(parents=True)
    (tmp_path / "ws" / "acme" / "gitfile").mkdir()
    (tmp_path / "ws" / "acme" / "gitfile" / ".git").write_text(f"gitdir: {tmp_path / '.git'}\n")
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    for workspace in ("acme/plain", "acme/gitfile"):
        with pytest.raises(GatewayError) as info:
            await github.push(push_args(workspace), ctx)
        assert info.value.retryable is False
    assert git_remote.requests == []


async def test_push_does_not_run_workspace_hooks(tmp_path: Path,
                                                 git_remote: FakeGitRemote) -> None:
    workspace = tmp_path / "ws" / "acme" / "frontend"
    make_workspace(workspace)
    spy = tmp_path / "hook-saw"
    hook = workspace / ".git" / "hooks" / "pre-push"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\nenv > {spy}\n")
    hook.chmod(0o755)
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    await github.push(push_args(), ctx)

    assert not spy.exists()


# --- github_comment / github_create_issue -----------------------------------------------------


async def test_push_gives_git_none_of_the_workers_secrets(
        tmp_path: Path, git_remote: FakeGitRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "ws" / "acme" / "frontend"
    make_workspace(workspace)
    commit(workspace, {"login.py": "def login() -> None: ...\n"})
    # A git on PATH that records the environment it was started with, then runs the real one.
    real_git = shutil.which("git")
    assert real_git is not None
    spy, bin_dir = tmp_path / "git-env", tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f'#!/bin/sh\nenv >> {spy}\nexec {real_git} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SWITCHBOARD_MASTER_KEY", "master-key-never-for-git")
    monkeypatch.setenv("DATABASE_URL", "postgresql://root:pw-never-for-git@db/switchboard")
    ctx = context(github_git_url=git_remote.base_url, workspaces=tmp_path / "ws")

    await github.push(push_args(), ctx)

    seen = spy.read_text()
    assert "GIT_TERMINAL_PROMPT=0" in seen  # the spy did see git's environment
    assert "never-for-git" not in seen


async def test_comment_reaches_github_with_token(github_api: FakeGitHub) -> None:
    args = github.CommentArgs(repo="acme/frontend", number=7, body="Fixed in feat/login")

    result = await github.comment(args, context(github_api_url=github_api.base_url))

    (request,) = github_api.requests
    assert (request.method, request.path) == ("POST", "/repos/acme/frontend/issues/7/comments")
    assert request.headers["authorization"] == f"token {TOKEN}"
    assert request.body == {"body": "Fixed in feat/login"}
    assert result == {"url": github_api.comments[0]["html_url"], "id": github_api.comments[0]["id"]}


async def test_create_issue_reaches_github(github_api: FakeGitHub) -> None:
    args = github.CreateIssueArgs(repo="acme/frontend", title="Flaky login test", body="Seen 3x",
                                  labels=["bug"])

    result = await github.create_issue(args, context(github_api_url=github_api.base_url))

    issue = github_api.issues[("acme/frontend", 8)]
    assert issue["title"] == "Flaky login test" and issue["labels"][0]["name"] == "bug"
    assert result == {"url": issue["html_url"], "number": 8, "id": issue["id"]}
    assert github_api.requests[-1].headers["authorization"] == f"token {TOKEN}"


@pytest.mark.parametrize(
    ("status", "message", "headers", "retryable", "retry_after"),
    [
        (502, "Server Error", {}, True, None),
        (403, SECONDARY_LIMIT, {"Retry-After": "30"}, True, timedelta(seconds=30)),
        (403, SECONDARY_LIMIT, {}, True, timedelta(seconds=60)),
        (429, "Too many requests", {"Retry-After": "5"}, True, timedelta(seconds=5)),
        (403, "Resource not accessible by integration", {}, False, None),
        (422, "Validation Failed", {}, False, None),
    ],
)
async def test_github_failures_map_to_retry_decisions(
        github_api: FakeGitHub, status: int, message: str, headers: dict[str, str],
        retryable: bool, retry_after: timedelta | None) -> None:
    github_api.fail_next(status, message, headers=headers)
    args = github.CommentArgs(repo="acme/frontend", number=7, body="hi")

    with pytest.raises(GatewayError) as info:
        await github.comment(args, context(github_api_url=github_api.base_url))

    assert (info.value.retryable, info.value.retry_after, info.value.status) == (
        retryable, retry_after, status)
    assert len(github_api.requests) == 1  # PyGithub did not retry on its own


async def test_github_unknown_repo_is_final(github_api: FakeGitHub) -> None:
    args = github.CreateIssueArgs(repo="acme/nope", title="t")

    with pytest.raises(GatewayError) as info:
        await github.create_issue(args, context(github_api_url=github_api.base_url))

    assert (info.value.status, info.value.retryable) == (404, False)


async def test_github_bad_credentials_are_final(github_api: FakeGitHub) -> None:
    args = github.CommentArgs(repo="acme/frontend", number=7, body="hi")

    with pytest.raises(GatewayError) as info:
        await github.comment(args, context("wrong", github_api_url=github_api.base_url))

    assert (info.value.status, info.value.retryable) == (401, False)


# --- slack ------------------------------------------------------------------------------------


async def test_slack_post_message(slack_api: FakeSlack) -> None:
    args = slack.PostMessageArgs(channel="C0FRONTEND", text="Deploy done :rocket:")

    result = await slack.post_message(args, context(slack_api_url=slack_api.base_url))

    assert result == {"channel": "C0FRONTEND", "ts": slack_api.messages[0]["ts"]}
    (request,) = slack_api.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body["text"] == "Deploy done :rocket:" and "thread_ts" not in request.body


async def test_slack_reply_sends_thread_ts(slack_api: FakeSlack) -> None:
    args = slack.ReplyArgs(channel="C0FRONTEND", thread_ts="1700000000.000100", text="On it")

    result = await slack.reply(args, context(slack_api_url=slack_api.base_url))

    assert slack_api.requests[0].body["thread_ts"] == "1700000000.000100"
    assert slack_api.messages[0]["thread_ts"] == "1700000000.000100"
    assert result["channel"] == "C0FRONTEND" and result["ts"]


async def test_slack_rate_limit_is_retryable_after_header(slack_api: FakeSlack) -> None:
    slack_api.fail_next(429, "ratelimited", headers={"Retry-After": "7"})
    args = slack.PostMessageArgs(channel="C0FRONTEND", text="hi")

    with pytest.raises(GatewayError) as info:
        await slack.post_message(args, context(slack_api_url=slack_api.base_url))

    assert info.value.retryable is True
    assert info.value.retry_after == timedelta(seconds=7)
    assert len(slack_api.requests) == 1  # slack-sdk did not retry on its own


@pytest.mark.parametrize("html", [False, True])
async def test_slack_server_error_is_retryable(slack_api: FakeSlack, html: bool) -> None:
    slack_api.fail_next(503, "service_unavailable", html=html)
    args = slack.PostMessageArgs(channel="C0FRONTEND", text="hi")

    with pytest.raises(GatewayError) as info:
        await slack.post_message(args, context(slack_api_url=slack_api.base_url))

    assert (info.value.retryable, info.value.status) == (True, 503)


@pytest.mark.parametrize(("channel", "token", "code"), [
    ("C0UNKNOWN", TOKEN, "channel_not_found"),
    ("C0PRIVATE", TOKEN, "not_in_channel"),
    ("C0FRONTEND", "xoxb-wrong", "invalid_auth"),
])
async def test_slack_api_errors_are_final(slack_api: FakeSlack, channel: str, token: str,
                                          code: str) -> None:
    args = slack.PostMessageArgs(channel=channel, text="hi")

    with pytest.raises(GatewayError) as info:
        await slack.post_message(args, context(token, slack_api_url=slack_api.base_url))

    assert info.value.retryable is False
    assert code in info.value.message


# --- clickup ----------------------------------------------------------------------------------


async def test_clickup_create_task(clickup_api: FakeClickUp) -> None:
    args = clickup.CreateTaskArgs(list_id="901", name="Fix login", description="From #7")

    result = await clickup.create_task(args, context(clickup_api_url=clickup_api.base_url))

    (request,) = clickup_api.requests
    assert request.path == "/api/v2/list/901/task"
    assert request.headers["authorization"] == TOKEN
    assert request.body == {"name": "Fix login", "description": "From #7"}
    task = clickup_api.tasks[str(result["id"])]
    assert result == {"id": task["id"], "url": task["url"]}


async def test_clickup_comment(clickup_api: FakeClickUp) -> None:
    args = clickup.CommentArgs(task_id="86abc", text="PR is up")

    result = await clickup.comment(args, context(clickup_api_url=clickup_api.base_url))

    assert clickup_api.requests[0].path == "/api/v2/task/86abc/comment"
    assert clickup_api.comments[0]["comment_text"] == "PR is up"
    assert result == {"id": str(clickup_api.comments[0]["id"])}


@pytest.mark.parametrize(("status", "headers", "retryable", "retry_after"), [
    (500, {}, True, None),
    (429, {"Retry-After": "12"}, True, timedelta(seconds=12)),
    (400, {}, False, None),
])
async def test_clickup_failures_map_to_retry_decisions(
        clickup_api: FakeClickUp, status: int, headers: dict[str, str], retryable: bool,
        retry_after: timedelta | None) -> None:
    clickup_api.fail_next(status, headers=headers)
    args = clickup.CommentArgs(task_id="86abc", text="hi")

    with pytest.raises(GatewayError) as info:
        await clickup.comment(args, context(clickup_api_url=clickup_api.base_url))

    assert (info.value.status, info.value.retryable, info.value.retry_after) == (
        status, retryable, retry_after)


async def test_clickup_wrong_token_is_final(clickup_api: FakeClickUp) -> None:
    args = clickup.CreateTaskArgs(list_id="901", name="x")

    with pytest.raises(GatewayError) as info:
        await clickup.create_task(args, context("pk_wrong", clickup_api_url=clickup_api.base_url))

    assert (info.value.status, info.value.retryable) == (401, False)
    assert "pk_wrong" not in str(info.value)


# --- unreachable services ---------------------------------------------------------------------


def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_unreachable_services_are_retryable(tmp_path: Path) -> None:
    url = closed_url()
    make_workspace(tmp_path / "ws" / "acme" / "frontend")
    ctx = context(github_api_url=url, github_git_url=url, slack_api_url=f"{url}/api/",
                  clickup_api_url=f"{url}/api/v2", workspaces=tmp_path / "ws")
    calls = [
        github.push(push_args(), ctx),
        github.comment(github.CommentArgs(repo="acme/frontend", number=7, body="b"), ctx),
        slack.post_message(slack.PostMessageArgs(channel="C0FRONTEND", text="t"), ctx),
        clickup.comment(clickup.CommentArgs(task_id="86abc", text="t"), ctx),
    ]
    for call in calls:
        with pytest.raises(GatewayError) as info:
            await call
        assert info.value.retryable is True, info.value.message


# --- the intents as tools ---------------------------------------------------------------------


def test_intents_are_described_for_an_llm() -> None:
    intents = [*github.INTENTS, *slack.INTENTS, *clickup.INTENTS]
    assert [i.name for i in intents] == [
        "github_push", "github_comment", "github_create_issue", "slack_post_message",
        "slack_reply", "clickup_create_task", "clickup_comment"]
    for intent in intents:
        schema = intent.args.model_json_schema()
        assert len(intent.description) > 40 and intent.secret
        assert all(p.get("description") for p in schema["properties"].values()), intent.name


def test_resources_are_what_grants_match() -> None:
    assert github.GITHUB_PUSH.resource(push_args()) == "acme/frontend"
    assert slack.SLACK_REPLY.resource(
        slack.ReplyArgs(channel="C0FRONTEND", thread_ts="1.2", text="x")) == "C0FRONTEND"
    task = clickup.CommentArgs(task_id="86abc", text="x")
    assert clickup.CLICKUP_COMMENT.resource(task) == "86abc"


@pytest.mark.parametrize(("model", "bad"), [
    (github.PushArgs, {"repo": "acme/..", "branch": "b", "workspace": "w"}),
    (github.PushArgs, {"repo": "acme/frontend", "branch": "-f", "workspace": "w"}),
    (github.CommentArgs, {"repo": "../x", "number": 1, "body": "b"}),
    (slack.PostMessageArgs, {"channel": "#general", "text": "t"}),
    (clickup.CommentArgs, {"task_id": "../team/1", "text": "t"}),
])
def test_arguments_that_could_change_the_target_are_refused(model: Any,
                                                            bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(bad)
