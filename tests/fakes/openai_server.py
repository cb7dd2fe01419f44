"""A local stand-in for an OpenAI-compatible ``POST /v1/chat/completions``.

It answers the replies queued on it, in order (completions in the function-calling format, or
errors such as 429 with ``Retry-After`` or 400), and records every request it got. Tests drive it
through the real ``openai`` client, over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._http import FakeHandler, LocalServer, Recorded


@dataclass(frozen=True)
class FakeReply:
    """One HTTP answer: status, JSON body, headers; ``echo_auth`` puts the caller's key in it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    echo_auth: bool = False


def completion(content: str | None = None, tool_calls: list[tuple[str, str, Any]] | None = None,
               model: str = "fake-model", prompt_tokens: int = 11,
               completion_tokens: int = 7) -> dict[str, Any]:
    """A chat.completion body; tool calls as (id, name, arguments: dict, or str sent as is)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {
                "name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for cid, name, args in tool_calls]
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class FakeOpenAI(LocalServer):
    """The fake server; use as a context manager, queue replies, read ``requests``."""

    def __init__(self) -> None:
        self.replies: deque[FakeReply] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The base URL to give the openai client."""
        return f"{self.origin}/v1"

    def answer(self, content: str, **kw: Any) -> None:
        """Queue a final answer."""
        self.replies.append(FakeReply(200, completion(content=content, **kw)))

    def call_tools(self, *calls: tuple[str, str, Any], content: str | None = None) -> None:
        """Queue a reply asking for tool calls."""
        self.replies.append(FakeReply(200, completion(content=content, tool_calls=list(calls))))

    def fail(self, status: int, message: str, headers: dict[str, str] | None = None,
             *, echo_auth: bool = False) -> None:
        """Queue an error answer."""
        self.replies.append(FakeReply(status, error_body(message), headers or {}, echo_auth))

    def _next(self, recorded: Recorded) -> FakeReply:
        with self._lock:
            self.requests.append(recorded)
            if not self.replies:
                return FakeReply(500, error_body("the fake has no reply queued", "server_error"))
            return self.replies.popleft()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_POST(self) -> None:
                raw = self.read_body()
                headers = self.lower_headers()
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(FakeReply(404, error_body(f"no route {self.path}")))
                    return
                reply = fake._next(Recorded(self.path, headers, json.loads(raw or b"{}")))
                if reply.echo_auth:  # like a server quoting the key it refused
                    got = headers.get("authorization", "")
                    reply.body["error"]["message"] += f" (you sent {got!r})"
                self._send(reply)

            def _send(self, reply: FakeReply) -> None:
                self.answer_json(reply.status, reply.body, reply.headers)

        return Handler
