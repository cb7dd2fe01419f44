"""A local stand-in for ClickUp API v2: ``POST /api/v2/list/{id}/task``, ``/task/{id}/comment``
and ``GET /api/v2/task/{id}`` (the task as ClickUp returns it: name, description, status,
assignees, list, url; seed one with ``add_task``).

Requests need ``Authorization: <token>`` (personal tokens go bare), else 401 with ClickUp's
``{"err", "ECODE"}`` body; unknown lists and tasks answer 404. ``fail_next`` injects errors such as
a 500 or a 429 with ``Retry-After``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._http import Failure, FakeHandler, LocalServer, Recorded


class FakeClickUp(LocalServer):
    """The fake server; use as a context manager, read ``requests``, ``tasks`` and ``comments``."""

    def __init__(self, token: str, lists: tuple[str, ...] = ("901",),
                 tasks: tuple[str, ...] = ("86abc",)) -> None:
        self.token = token
        self.lists = set(lists)
        self.tasks: dict[str, dict[str, Any]] = {t: {"id": t, "name": "seeded"} for t in tasks}
        self.comments: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self.failures: deque[Failure] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The API base URL to give the executor."""
        return f"{self.origin}/api/v2"

    def fail_next(self, status: int, err: str = "Internal server error", times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` authorized requests with this error."""
        for _ in range(times):
            self.failures.append(Failure(status, {"err": err, "ECODE": "FAKE_001"}, headers or {}))

    def add_task(self, task_id: str, name: str, description: str = "", *, list_id: str = "901",
                 status: str = "to do", assignees: tuple[str, ...] = ()) -> None:
        """Seed a task that ``GET /task/{id}`` answers."""
        with self._lock:
            self.tasks[task_id] = {
                "id": task_id, "name": name, "description": description,
                "text_content": description, "status": {"status": status, "type": "open"},
                "assignees": [{"id": 1000 + i, "username": u, "email": f"{u}@example.com"}
                              for i, u in enumerate(assignees)],
                "list": {"id": list_id, "name": f"List {list_id}"},
                "url": f"https://app.clickup.com/t/{task_id}", "date_created": "1700000000000"}

    def _read(self, path: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if (m := re.fullmatch(r"/api/v2/task/([^/]+)", path)) and m[1] in self.tasks:
                return 200, self.tasks[m[1]]
        return 404, {"err": "Task not found, deleted", "ECODE": "ITEM_013"}

    def _route(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if (m := re.fullmatch(r"/api/v2/list/([^/]+)/task", path)) and m[1] in self.lists:
                tid = f"86t{next(self._ids):04d}"
                task = {"id": tid, "name": body["name"], "description": body.get("description"),
                        "status": {"status": "to do", "type": "open"}, "list": {"id": m[1]},
                        "url": f"https://app.clickup.com/t/{tid}", "date_created": "1700000000000"}
                self.tasks[tid] = task
                return 200, task
            if (m := re.fullmatch(r"/api/v2/task/([^/]+)/comment", path)) and m[1] in self.tasks:
                cid = 90000 + next(self._ids)
                self.comments.append({"id": cid, "task_id": m[1], **body})
                return 200, {"id": cid, "hist_id": f"h{cid}", "date": 1700000000000}
        return 404, {"err": "Resource not found", "ECODE": "ITEM_013"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_GET(self) -> None:
                if self._authorized({}):
                    self.answer_json(*fake._read(self.path.split("?")[0]))

            def do_POST(self) -> None:
                body = json.loads(self.read_body() or b"{}")
                if self._authorized(body):
                    self.answer_json(*fake._route(self.path.split("?")[0], body))

            def _authorized(self, body: dict[str, Any]) -> bool:
                """Record the request; answer 401 or an injected failure, else go on."""
                headers = self.lower_headers()
                fake.requests.append(Recorded(self.path, headers, body))
                if headers.get("authorization") != fake.token:
                    self.answer_json(401, {"err": "Token invalid", "ECODE": "OAUTH_025"})
                    return False
                with fake._lock:
                    failure = fake.failures.popleft() if fake.failures else None
                if failure is not None:
                    self.answer_json(failure.status, failure.body, failure.headers)
                    return False
                return True

        return Handler
