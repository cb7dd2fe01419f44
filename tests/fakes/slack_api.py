"""A local stand-in for Slack's ``POST /api/chat.postMessage``, ``POST /api/chat.update``,
``GET /api/usergroups.users.list`` (groups seeded in ``usergroups``) and ``GET
/api/conversations.replies`` (threads seeded with ``add_thread``), driven through slack-sdk.

Like Slack, it answers HTTP 200 with ``{"ok": false, "error": ...}`` for API errors:
``invalid_auth`` without ``Authorization: Bearer <token>``, ``channel_not_found`` for unknown
channels and ``not_in_channel`` for channels the bot was not invited to. ``fail_next`` injects
HTTP failures, e.g. 429 ``ratelimited`` with ``Retry-After``, or a 500.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._http import FakeHandler, LocalServer, Recorded


@dataclass(frozen=True)
class Failure:
    """An injected HTTP error answer."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack(LocalServer):
    """The fake server; use as a context manager, read ``requests`` and ``messages``."""

    def __init__(self, token: str, channels: tuple[str, ...] = ("C0FRONTEND",),
                 not_member: tuple[str, ...] = ("C0PRIVATE",)) -> None:
        self.token = token
        self.channels = set(channels)
        self.not_member = set(not_member)
        self.messages: list[dict[str, Any]] = []
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requests: list[Recorded] = []
        self.updates: list[dict[str, Any]] = []  # chat.update calls, in order
        self.usergroups: dict[str, list[str]] = {}  # user group id -> its members' user ids
        self.failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The Web API base URL to give slack-sdk (with its trailing slash)."""
        return f"{self.origin}/api/"

    def fail_next(self, status: int, error: str = "internal_error", times: int = 1,
                  headers: dict[str, str] | None = None, *, html: bool = False) -> None:
        """Answer the next ``times`` requests with this HTTP status and Slack error code.

        ``html`` answers an HTML error page instead, as Slack's edge does for some 5xx.
        """
        body: dict[str, Any] | str = f"<html><body>{status}</body></html>" if html else {
            "ok": False, "error": error}
        for _ in range(times):
            self.failures.append(Failure(status, body, headers or {}))

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel in self.not_member:
            return {"ok": False, "error": "not_in_channel"}
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        with self._lock:
            ts = f"{int(time.time())}.{len(self.messages) + 1:06d}"
            message = {"type": "message", "subtype": "bot_message", "bot_id": "B0SWITCH",
                       "text": body["text"], "ts": ts, "user": "U0SWITCHBOARD"}
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            if body.get("blocks"):
                message["blocks"] = body["blocks"]
            self.messages.append({"channel": channel, **message})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        with self._lock:
            found = [m for m in self.messages if m["channel"] == channel and m["ts"] == ts]
            if not found:
                return {"ok": False, "error": "message_not_found"}
            found[0].update({k: body[k] for k in ("text", "blocks") if k in body})
            self.updates.append({"channel": channel, "ts": ts, **body})
        return {"ok": True, "channel": channel, "ts": ts, "text": body.get("text", "")}

    def _group(self, query: dict[str, str]) -> dict[str, Any]:
        members = self.usergroups.get(query.get("usergroup", ""))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": members}

    def add_thread(self, channel: str, thread_ts: str, messages: list[tuple[str, str]]) -> None:
        """Seed a thread: (user, text) pairs, the first one its root at ``thread_ts``."""
        base = float(thread_ts)
        with self._lock:
            self.threads[(channel, thread_ts)] = [
                {"type": "message", "user": user, "text": text,
                 "ts": f"{base + i / 1000:.6f}", "thread_ts": thread_ts}
                for i, (user, text) in enumerate(messages)]

    def _replies(self, query: dict[str, str]) -> dict[str, Any]:
        channel, ts = query.get("channel", ""), query.get("ts", "")
        if channel not in self.channels and (channel, ts) not in self.threads:
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            thread = self.threads.get((channel, ts))
        if thread is None:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(query.get("limit") or 1000)
        return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_GET(self) -> None:
                path, _, raw = self.path.partition("?")
                headers = self.lower_headers()
                query = dict(parse_qsl(raw))
                fake.requests.append(Recorded(path, headers, query))
                with fake._lock:
                    failure = fake.failures.popleft() if fake.failures else None
                if failure is not None:
                    self._send(failure.status, failure.body, failure.headers)
                elif headers.get("authorization") != f"Bearer {fake.token}":
                    self._send(200, {"ok": False, "error": "invalid_auth"})
                elif path == "/api/conversations.replies":
                    self._send(200, fake._replies(query))
                elif path == "/api/usergroups.users.list":
                    self._send(200, fake._group(query))
                else:
                    self._send(404, {"ok": False, "error": "unknown_method"})

            def do_POST(self) -> None:
                raw = self.read_body().decode()
                headers = self.lower_headers()
                is_json = headers.get("content-type", "").startswith("application/json")
                body = json.loads(raw or "{}") if is_json else dict(parse_qsl(raw))
                fake.requests.append(Recorded(self.path, headers, body))
                with fake._lock:
                    failure = fake.failures.popleft() if fake.failures else None
                if failure is not None:
                    self._send(failure.status, failure.body, failure.headers)
                elif headers.get("authorization") != f"Bearer {fake.token}":
                    self._send(200, {"ok": False, "error": "invalid_auth"})
                elif self.path.split("?")[0] == "/api/chat.postMessage":
                    self._send(200, fake._post_message(body))
                elif self.path.split("?")[0] == "/api/chat.update":
                    self._send(200, fake._update(body))
                else:
                    self._send(404, {"ok": False, "error": "unknown_method"})

            def _send(self, status: int, body: dict[str, Any] | str,
                      headers: dict[str, str] | None = None) -> None:
                if isinstance(body, str):  # an HTML error page, as Slack's edge sends
                    self.answer(status, body.encode(),
                                [("Content-Type", "text/html"), *(headers or {}).items()])
                else:
                    self.answer_json(status, body, headers)

        return Handler
