"""A GitHub issue or pull request and its latest comments, through PyGithub."""

from __future__ import annotations

import asyncio

import requests
from github import GithubException, RateLimitExceededException

from infra.enrichment.base import Found, Reach, Target
from infra.gateway.base import GatewayError, retry_after
from infra.gateway.clients import github_client


def _api_error(exc: GithubException) -> GatewayError:
    wait = retry_after(exc.headers or {})
    limited = isinstance(exc, RateLimitExceededException) or wait is not None
    message = f"GitHub answered {exc.status}"
    if exc.status == 429 or (exc.status == 403 and limited):
        return GatewayError(message, retryable=True, status=exc.status, retry_after=wait)
    return GatewayError(message, retryable=exc.status >= 500, status=exc.status)


def _read(target: Target, credential: str, reach: Reach) -> Found:
    gh = github_client(credential, reach.github_api_url, reach.timeout_seconds, reach.limit)
    try:
        issue = gh.get_repo(target.container).get_issue(int(target.item))
        title, body, state, count = issue.title, issue.body or "", issue.state, issue.comments
        url = issue.html_url
        is_pr = issue.pull_request is not None
        # The latest ``limit`` comments: GitHub lists them oldest first, so the last page (and
        # the one before when the last is short).
        pages, comments = issue.get_comments(), []
        if count:
            last = (count - 1) // reach.limit
            comments = list(pages.get_page(last))
            if len(comments) < reach.limit and last > 0:
                comments = [*pages.get_page(last - 1), *comments][-reach.limit:]
        lines = [f"{c.user.login if c.user else 'someone'}: {c.body or ''}" for c in comments]
    finally:
        gh.close()
    noun = "pull request" if is_pr else "issue"
    text = [f"{noun.capitalize()} #{target.item}: {title} ({state})"]
    if body:
        text += ["", body]
    if lines:
        left_out = count - len(lines)
        text += ["", f"Comments{f' (the latest {len(lines)} of {count})' if left_out else ''}:",
                 *lines]
    return Found(what=f"GitHub {noun} {target.container}#{target.item}",
                 context_title=f"{target.container}#{target.item}: {title}",
                 context_text="\n".join(text), url=url,
                 facts={"item_state": state, "item_comments": count})


async def fetch_issue(target: Target, credential: str, reach: Reach) -> Found:
    """The issue or pull request (GitHub serves both as issues) with its latest comments."""
    try:
        return await asyncio.to_thread(_read, target, credential, reach)
    except GithubException as exc:
        raise _api_error(exc) from None
    except requests.RequestException as exc:
        raise GatewayError(f"GitHub unreachable: {type(exc).__name__}", retryable=True) from None
