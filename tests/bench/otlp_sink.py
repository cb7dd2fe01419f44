"""``python -m tests.bench.otlp_sink [--port 4318]``: an OTLP/HTTP receiver that accepts and
counts trace exports and keeps nothing, so that a bench can measure tracing's cost with the
real exporter running (README, "Traces")::

    python -m tests.bench.otlp_sink --port 4318 &
    OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \\
        python -m tests.bench --only latency
"""

from __future__ import annotations

import argparse
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Sink(BaseHTTPRequestHandler):
    exports = 0
    received = 0

    def do_POST(self) -> None:
        """Read the export, answer an empty ExportTraceServiceResponse."""
        size = int(self.headers.get("content-length", "0"))
        self.rfile.read(size)
        _Sink.exports += 1
        _Sink.received += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def received() -> tuple[int, int]:
    """Exports and bytes received so far by this process's sinks."""
    return _Sink.exports, _Sink.received


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def start(port: int) -> ThreadingHTTPServer:
    """A sink serving on 127.0.0.1:``port`` in a thread of this process (``shutdown()`` ends it)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Sink)
    threading.Thread(target=server.serve_forever, name="otlp-sink", daemon=True).start()
    return server


def main() -> None:
    """Serve until interrupted; print what was received."""
    cli = argparse.ArgumentParser(prog="python -m tests.bench.otlp_sink")
    cli.add_argument("--port", type=int, default=4318)
    port = cli.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), _Sink)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"otlp sink: {_Sink.exports} exports, {_Sink.received} bytes", flush=True)


if __name__ == "__main__":
    main()
