"""A local stand-in for the part of GitHub's REST API that the gateway drives through PyGithub.

Routes: ``GET /repos/{o}/{r}``, ``GET /repos/{o}/{r}/issues/{n}`` (pull requests too, as GitHub
serves them), ``GET /repos/{o}/{r}/issues/{n}/comments`` (``per_page``, ``page``),
``POST /repos/{o}/{r}/issues``, ``POST /repos/{o}/{r}/issues/{n}/comments`` and
``GET /repos/{o}/{r}/readme`` (``set_readme``), answered with
GitHub-shaped JSON whose URLs point back at the fake (PyGithub refuses URLs on other hosts).
Every request needs ``Authorization: token <token>`` (or ``Bearer``), else 401 "Bad credentials".
``fail_next`` makes the next requests answer an error (5xx, a secondary rate limit with
``Retry-After``...).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._http import Failure, FakeHandler, LocalServer

DOCS = "https://docs.github.com/rest"
SECONDARY_LIMIT = ("You have exceeded a secondary rate limit. "
                   "Please wait a few minutes before you try again.")


@dataclass(frozen=True)
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeGitHub(LocalServer):
    """The fake server; use as a context manager, read ``requests``, ``issues`` and ``comments``."""

    def __init__(self, token: str, repos: tuple[str, ...] = ("acme/frontend",)) -> None:
        self.token = token
        self.repos = set(repos)
        self.issues: dict[tuple[str, int], dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        self.readmes: dict[str, str] = {}  # GET /repos/{o}/{r}/readme: repo -> text
        self.requests: list[Recorded] = []
        self.failures: deque[Failure] = deque()
        self._ids = itertools.count(1_000_001)
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The API base URL to give PyGithub."""
        return self.origin

    def fail_next(self, status: int, message: str = "Server Error", times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` authorized requests with this error."""
        for _ in range(times):
            self.failures.append(Failure(status, {"message": message, "documentation_url": DOCS},
                                         headers or {}))

    def add_issue(self, repo: str, number: int, title: str = "Login is broken", body: str = "",
                  *, pull: bool = False) -> None:
        """Seed an existing issue (``pull``: a pull request, as the issues API shows one)."""
        issue = self._issue(repo, number, title, body, [])
        if pull:
            issue["pull_request"] = {
                "url": f"{self.base_url}/repos/{repo}/pulls/{number}",
                "html_url": f"https://github.com/{repo}/pull/{number}"}
        self.issues[(repo, number)] = issue

    def add_comment(self, repo: str, number: int, body: str, login: str = "octocat") -> None:
        """Seed a comment on an existing issue or pull request."""
        issue = self.issues[(repo, number)]
        cid = next(self._ids)
        self.comments.append({
            "id": cid, "body": body, "user": {**self._user(), "login": login, "type": "User"},
            "url": f"{self.base_url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"{issue['html_url']}#issuecomment-{cid}", "issue_url": issue["url"],
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"})

    def _comments_of(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["issue_url"] == issue["url"]]

    def _comment_page(self, path: str, query: str) -> list[dict[str, Any]] | None:
        """GET .../issues/{n}/comments: one page of the comments, oldest first (None: no such
        issue)."""
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)
        issue = self.issues.get((m[1], int(m[2]))) if m else None
        if issue is None:
            return None
        args = dict(parse_qsl(query))
        per_page, page = int(args.get("per_page", "30")), int(args.get("page", "1"))
        with self._lock:
            found = self._comments_of(issue)
        return found[(page - 1) * per_page: page * per_page]

    def _user(self) -> dict[str, Any]:
        return {"login": "switchboard-bot", "id": 4242, "type": "Bot",
                "url": f"{self.base_url}/users/switchboard-bot",
                "html_url": "https://github.com/switchboard-bot"}

    def _repo(self, repo: str) -> dict[str, Any]:
        owner, name = repo.split("/")
        return {"id": 77, "name": name, "full_name": repo, "private": True,
                "owner": {**self._user(), "login": owner, "type": "Organization"},
                "url": f"{self.base_url}/repos/{repo}", "html_url": f"https://github.com/{repo}",
                "default_branch": "main"}

    def _issue(self, repo: str, number: int, title: str, body: str,
               labels: list[str]) -> dict[str, Any]:
        url = f"{self.base_url}/repos/{repo}/issues/{number}"
        return {"id": next(self._ids), "number": number, "title": title, "body": body,
                "state": "open", "user": self._user(), "comments": 0, "url": url,
                "html_url": f"https://github.com/{repo}/issues/{number}",
                "comments_url": f"{url}/comments",
                "repository_url": f"{self.base_url}/repos/{repo}",
                "labels": [{"name": label, "color": "ededed"} for label in labels],
                "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}

    def set_readme(self, repo: str, text: str) -> None:
        """Give a repository a README (served by ``GET /repos/{o}/{r}/readme``)."""
        self.repos.add(repo)
        self.readmes[repo] = text

    def _readme(self, repo: str) -> tuple[int, dict[str, Any]]:
        """GitHub's contents shape of a README: base64 content, its blob sha and links."""
        text = self.readmes.get(repo)
        if text is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        raw = text.encode()
        return 200, {
            "type": "file", "encoding": "base64", "size": len(raw), "name": "README.md",
            "path": "README.md", "content": base64.b64encode(raw).decode(),
            "sha": hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest(),
            "url": f"{self.base_url}/repos/{repo}/contents/README.md",
            "html_url": f"https://github.com/{repo}/blob/main/README.md",
            "download_url": f"https://raw.githubusercontent.com/{repo}/main/README.md"}

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        readme = re.fullmatch(r"/repos/([^/]+/[^/]+)/readme", path)
        if readme and method == "GET":
            with self._lock:
                return self._readme(readme.group(1))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(?:/issues(?:/(\d+)(/comments)?)?)?", path)
        if not m or m.group(1) not in self.repos:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        repo, number, comments = m.group(1), m.group(2), m.group(3)
        with self._lock:
            if method == "GET" and number is None and not path.endswith("/issues"):
                return 200, self._repo(repo)
            if method == "POST" and path.endswith("/issues"):
                n = 1 + max((k[1] for k in self.issues if k[0] == repo), default=0)
                issue = self._issue(repo, n, body["title"], body.get("body") or "",
                                    body.get("labels", []))
                self.issues[(repo, n)] = issue
                return 201, issue
            found = self.issues.get((repo, int(number))) if number else None
            if found is None:
                return 404, {"message": "Not Found", "documentation_url": DOCS}
            issue = found
            if method == "GET" and not comments:
                return 200, {**issue, "comments": len(self._comments_of(issue))}
            if method == "POST" and comments:
                cid = next(self._ids)
                comment = {"id": cid, "body": body["body"], "user": self._user(),
                           "url": f"{self.base_url}/repos/{repo}/issues/comments/{cid}",
                           "html_url": f"{issue['html_url']}#issuecomment-{cid}",
                           "issue_url": issue["url"], "created_at": "2025-01-01T00:00:00Z",
                           "updated_at": "2025-01-01T00:00:00Z"}
                self.comments.append(comment)
                return 201, comment
        return 404, {"message": "Not Found", "documentation_url": DOCS}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                headers = self.lower_headers()
                body = json.loads(self.read_body() or b"{}")
                path = self.path.split("?")[0]
                fake.requests.append(Recorded(self.command, path, headers, body))
                if headers.get("authorization") not in (f"token {fake.token}",
                                                        f"Bearer {fake.token}"):
                    self._send(401, {"message": "Bad credentials", "documentation_url": DOCS})
                    return
                with fake._lock:
                    failure = fake.failures.popleft() if fake.failures else None
                if failure is not None:
                    self._send(failure.status, failure.body, failure.headers)
                    return
                query = self.path.partition("?")[2]
                page = fake._comment_page(path, query) if self.command == "GET" else None
                if page is not None:
                    self._send(200, page)
                    return
                self._send(*fake._route(self.command, path, body))

            def _send(self, status: int, body: dict[str, Any] | list[dict[str, Any]],
                      headers: dict[str, str] | None = None) -> None:
                self.answer_json(status, body, headers, "application/json; charset=utf-8")

        return Handler
