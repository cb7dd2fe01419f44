"""A local stand-in for an OpenAI-compatible ``POST /v1/embeddings``.

It answers each input with the vector the test's ``vectors`` function gives for it (returned in
shuffled order with their ``index``, as the API allows), or with a queued error, and records
every request. Tests drive it through the real ``openai`` client over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes._http import FakeHandler, LocalServer, Recorded

VectorFor = Callable[[str, int], list[float]]


class FakeEmbeddings(LocalServer):
    """The fake server; use as a context manager; queue errors with ``fail``."""

    def __init__(self, vectors: VectorFor) -> None:
        self.vectors = vectors
        self.requests: list[Recorded] = []
        self.errors: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The base URL to give the openai client."""
        return f"{self.origin}/v1"

    def fail(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this HTTP error."""
        self.errors.append((status, headers or {}))

    def _answer(self, recorded: Recorded) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append(recorded)
            error = self.errors.popleft() if self.errors else None
        if error is not None:
            body = {"error": {"message": f"fake error {error[0]}", "type": "fake",
                              "param": None, "code": None}}
            return error[0], body, error[1]
        inputs = recorded.body["input"]
        inputs = [inputs] if isinstance(inputs, str) else inputs
        dims = int(recorded.body.get("dimensions", 8))
        data = [{"object": "embedding", "index": i, "embedding": self.vectors(text, dims)}
                for i, text in enumerate(inputs)]
        data.reverse()  # the client must put them back in order by index
        tokens = sum(len(t.split()) for t in inputs)
        return 200, {"object": "list", "data": data, "model": recorded.body["model"],
                     "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_POST(self) -> None:
                raw = self.read_body()
                if self.path.rstrip("/") != "/v1/embeddings":
                    self.answer_json(404, {"error": {"message": "no route"}})
                    return
                self.answer_json(*fake._answer(
                    Recorded(self.path, self.lower_headers(), json.loads(raw or b"{}"))))

        return Handler
