"""GitHub intents: push a workspace with real ``git``, comment and open issues with PyGithub.

The push never lets agent-controlled code near the token: the workspace (its hooks, its
``.git/config``) is only read, without the token, to find the commit; the push itself runs from a
fresh empty repository that borrows the workspace's objects (``GIT_ALTERNATE_OBJECT_DIRECTORIES``),
with the token passed as an HTTP header through ``GIT_CONFIG_*`` environment config.
"""

from __future__ import annotations

import asyncio
import base64
import os
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import requests
from github import Github, GithubException, RateLimitExceededException
from pydantic import AfterValidator, BaseModel, Field

from infra.child_env import base_env
from infra.gateway.base import (
    ExecutionContext,
    GatewayError,
    Intent,
    Result,
    retry_after,
)
from infra.gateway.clients import github_client

SECONDARY_LIMIT_WAIT = timedelta(seconds=60)  # GitHub: wait at least a minute when no header says
NETWORK_ERRORS = ("could not resolve host", "failed to connect", "connection refused",
                  "timed out", "connection reset", "rpc failed", "early eof", "hung up")


def _no_dot_names(repo: str) -> str:
    if repo.split("/")[1] in (".", ".."):
        raise ValueError("repository name cannot be . or ..")
    return repo


Repo = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+$", max_length=140,
                            description='The repository as "owner/name", e.g. "acme/frontend"'),
                 AfterValidator(_no_dot_names)]


class PushArgs(BaseModel):
    """Arguments of github_push."""

    repo: Repo
    branch: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=200,
                        description='Branch to create or fast-forward, e.g. "feat/login"')
    workspace: str = Field(min_length=1, max_length=500,
                           description="Your git working copy, as a path relative to the "
                                       "workspaces directory, e.g. \"acme/frontend\"")


class CommentArgs(BaseModel):
    """Arguments of github_comment."""

    repo: Repo
    number: int = Field(gt=0, description="Issue or pull request number")
    body: str = Field(min_length=1, max_length=65536, description="Comment text (Markdown)")


class CreateIssueArgs(BaseModel):
    """Arguments of github_create_issue."""

    repo: Repo
    title: str = Field(min_length=1, max_length=256, description="Issue title")
    body: str = Field(default="", max_length=65536, description="Issue description (Markdown)")
    labels: list[str] = Field(default_factory=list, description="Existing label names to apply")


def _client(ctx: ExecutionContext) -> Github:
    # A client lives for one call (infra/gateway/clients: no retries, no request spacing).
    return github_client(ctx.credential, ctx.settings.github_api_url,
                         ctx.settings.timeout_seconds)


def _api_error(exc: GithubException) -> GatewayError:
    status, data = exc.status, exc.data if isinstance(exc.data, dict) else {}
    message = f"GitHub answered {status}: {exc.message or data.get('message') or exc.data}"
    wait = retry_after(exc.headers or {})
    limited = isinstance(exc, RateLimitExceededException) or wait is not None
    if status == 429 or (status == 403 and limited):
        return GatewayError(message, retryable=True, status=status,
                            retry_after=wait or SECONDARY_LIMIT_WAIT)
    return GatewayError(message, retryable=status >= 500, status=status)


async def _call(ctx: ExecutionContext, action: Callable[[Github], Result]) -> Result:
    """Run a synchronous PyGithub action in a thread, mapping its failures."""

    def run() -> Result:
        client = _client(ctx)
        try:
            return action(client)
        finally:
            client.close()

    try:
        return await asyncio.to_thread(run)
    except GithubException as exc:
        raise _api_error(exc) from None
    except requests.RequestException as exc:
        raise GatewayError(f"GitHub unreachable: {type(exc).__name__}", retryable=True) from None


async def comment(args: CommentArgs, ctx: ExecutionContext) -> Result:
    """Comment on an issue or pull request."""

    def act(gh: Github) -> Result:
        made = gh.get_repo(args.repo).get_issue(args.number).create_comment(args.body)
        return {"url": made.html_url, "id": made.id}

    return await _call(ctx, act)


async def create_issue(args: CreateIssueArgs, ctx: ExecutionContext) -> Result:
    """Open an issue."""

    def act(gh: Github) -> Result:
        made = gh.get_repo(args.repo).create_issue(args.title, body=args.body, labels=args.labels)
        return {"url": made.html_url, "number": made.number, "id": made.id}

    return await _call(ctx, act)


def _workspace(ctx: ExecutionContext, relative: str) -> Path:
    """The workspace directory, refused unless it is a git working copy below the root."""
    given = Path(relative)
    if given.is_absolute() or ".." in given.parts:
        raise GatewayError("workspace must be a path relative to the workspaces directory",
                           retryable=False)
    if not given.parts or given.parts[0] != ctx.tenant_id:
        raise GatewayError(f"workspace must be below {ctx.tenant_id}/ (the tenant's own folder)",
                           retryable=False)
    root = (ctx.settings.workspaces / ctx.tenant_id).resolve()
    path = (ctx.settings.workspaces.resolve() / given).resolve()
    if not path.is_relative_to(root) or path == root:
        raise GatewayError("workspace is outside the workspaces directory", retryable=False)
    if not (path / ".git").exists():
        raise GatewayError(f"workspace {relative!r} is not a git working copy", retryable=False)
    return path


def _objects(path: Path, found: str) -> Path:
    """The workspace's object directory, refused if a gitfile or symlink leads out of it."""
    objects = Path(found).resolve()
    if not objects.is_relative_to(path):
        raise GatewayError("workspace's git directory lies outside it", retryable=False)
    return objects


async def _git(*argv: str, env: dict[str, str], cwd: Path,
               seconds: float) -> tuple[int, str, str]:
    """Run git without a shell; return its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        "git", *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds)
    except TimeoutError:
        raise GatewayError(f"git {argv[0]} timed out after {seconds:g}s", retryable=True) from None
    finally:
        if proc.returncode is None:  # timed out or cancelled: leave no git behind
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def _push_error(output: str, scrub: tuple[str, ...]) -> GatewayError:
    for secret in scrub:
        output = output.replace(secret, "***")
    lines = [line for line in output.strip().splitlines() if not line.startswith("hint:")]
    lower, tail = output.lower(), " | ".join(lines[-4:])
    auth = ("error: 401", "error: 403", "authentication failed", "could not read username")
    if any(s in lower for s in auth):
        return GatewayError(f"git push: GitHub refused the token for this repository: {tail}",
                            retryable=False)
    if "[rejected]" in lower or "[remote rejected]" in lower:
        return GatewayError(f"git push rejected (fetch and rebase first?): {tail}",
                            retryable=False)
    server_error = any(f"error: {code}" in lower for code in range(500, 600))
    retryable = server_error or any(s in lower for s in NETWORK_ERRORS)
    return GatewayError(f"git push failed: {tail}", retryable=retryable)


async def push(args: PushArgs, ctx: ExecutionContext) -> Result:
    """Push the workspace's HEAD commit to a branch of the repository."""
    path = _workspace(ctx, args.workspace)
    seconds = ctx.settings.timeout_seconds
    # git gets the base environment only (PATH, HOME, locale, proxies): never this worker's
    # database URL or master key, and no GIT_* setting that could redirect it.
    env = base_env(os.environ)
    env |= {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "",
            "GIT_CEILING_DIRECTORIES": str(path.parent)}
    code, out, _ = await _git("rev-parse", "--path-format=absolute", "--git-path", "objects",
                              "HEAD^{commit}", env=env, cwd=path, seconds=seconds)
    lines = out.split()
    if code != 0 or len(lines) != 2:
        raise GatewayError(f"workspace {args.workspace!r} has no commit to push", retryable=False)
    objects, sha = _objects(path, lines[0]), lines[1]
    header = base64.b64encode(f"x-access-token:{ctx.credential}".encode()).decode()
    url = f"{ctx.settings.github_git_url.rstrip('/')}/{args.repo}.git"
    with tempfile.TemporaryDirectory(prefix="switchboard-push-") as scratch:
        code, _, err = await _git("init", "--quiet", "--bare", "--template=", scratch, env=env,
                                  cwd=Path(scratch), seconds=seconds)
        if code != 0:
            raise GatewayError(f"git init failed: {err.strip()}", retryable=False)
        env |= {"GIT_DIR": scratch, "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects),
                "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{url}.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {header}"}
        code, out, err = await _git("push", "--porcelain", "--no-verify", url,
                                    f"{sha}:refs/heads/{args.branch}", env=env,
                                    cwd=Path(scratch), seconds=seconds)
    if code != 0:
        raise _push_error(err + out, (ctx.credential, header))
    return {"repo": args.repo, "branch": args.branch, "pushed_sha": sha}


GITHUB_PUSH = Intent(
    name="github_push",
    description="Push the latest commit (HEAD) of your git workspace to a branch of a GitHub "
                "repository. Commit your changes first. Creates the branch if it is new, only "
                "fast-forwards an existing one (never force-pushes). Returns the pushed sha.",
    args=PushArgs, resource=lambda a: a.repo, secret="github_token", execute=push,
    writes=True)
GITHUB_COMMENT = Intent(
    name="github_comment",
    description="Add a comment to a GitHub issue or pull request. Returns the comment's URL.",
    args=CommentArgs, resource=lambda a: a.repo, secret="github_token", execute=comment,
    writes=True, message=lambda a: a.body)
GITHUB_CREATE_ISSUE = Intent(
    name="github_create_issue",
    description="Open a new issue in a GitHub repository, optionally with existing labels. "
                "Returns the issue's number and URL.",
    args=CreateIssueArgs, resource=lambda a: a.repo, secret="github_token", execute=create_issue,
    writes=True)

INTENTS: list[Intent[Any]] = [GITHUB_PUSH, GITHUB_COMMENT, GITHUB_CREATE_ISSUE]
