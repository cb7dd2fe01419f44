"""uvicorn's httptools protocol, answering the requests it cannot parse in the API's JSON shape.

httptools (llhttp) is uvicorn's fastest HTTP/1.1 parser; it refuses some requests before the app
sees them and uvicorn then answers a plain-text ``400 Invalid HTTP request received.``. The most
notable is a Content-Length too big for 64 bits (``10**23``): h11 would pass it on and the door
would answer 413, but h11 is the slower parser, and this only changes the error path.
"""

from __future__ import annotations

import sys

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


class HttpProtocol(HttpToolsProtocol):
    """httptools, with ``{"error", "detail"}`` JSON for requests the parser refuses."""

    def send_400_response(self, msg: str) -> None:
        """Answer an unparsable request: 413 for an overflowing Content-Length, else 400."""
        # uvicorn calls this from inside ``except httptools.HttpParserError``: the parser's own
        # reason is the exception being handled.
        exc = sys.exception()
        reason = str(exc) if isinstance(exc, httptools.HttpParserError) else ""
        if reason == "Content-Length overflow":
            status, body = 413, {"error": "body_too_large",
                                 "detail": "Content-Length is larger than any body we accept"}
        else:
            status, body = 400, {"error": "bad_request",
                                 "detail": f"invalid HTTP request: {reason or msg}"}
        content = msgspec.json.encode(body)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: application/json\r\n",
                 b"content-length: " + str(len(content)).encode() + b"\r\n",
                 b"connection: close\r\n\r\n", content]
        self.transport.write(b"".join(head))
        self.transport.close()
