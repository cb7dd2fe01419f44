"""What the local fakes share: a threaded HTTP server on a free 127.0.0.1 port, a request
handler that reads and answers whole bodies, and records."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Recorded:
    """A request the fake received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    """An injected error answer."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeHandler(BaseHTTPRequestHandler):
    """Reads a request's whole body, answers with a Content-Length, logs nothing (the tests
    assert on what the fakes record)."""

    def read_body(self) -> bytes:
        """The body, as long as Content-Length says."""
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def lower_headers(self) -> dict[str, str]:
        """The request's headers, names lower-cased."""
        return {k.lower(): v for k, v in self.headers.items()}

    def answer(self, status: int, data: bytes, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Send ``data`` with ``headers``."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
                    content_type: str = "application/json") -> None:
        """Send ``body`` as JSON, with ``headers`` besides Content-Type."""
        self.answer(status, json.dumps(body).encode(),
                    [("Content-Type", content_type), *(headers or {}).items()])

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class LocalServer:
    """Serves ``handler`` on 127.0.0.1 (port bound now) while used as a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
