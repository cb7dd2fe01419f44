"""What the admin commands print: aligned tables, JSON, a progress bar, and a tenant-less client.

Tables go to stdout (one header line, then a row per item, columns as wide as their widest
value); progress goes to stderr, redrawn in place on a terminal and one line a step otherwise,
so ``> file`` keeps only the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cli.api_client import Api

Column = tuple[str, Callable[[dict[str, Any]], object]]


def cell(value: object) -> str:
    """A value as a table cell: ``-`` for nothing, lists joined with commas."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> None:
    """Print ``rows`` under the column headers, each column as wide as its widest cell."""
    cells = [[cell(get(r)) for _, get in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (h, _) in enumerate(columns)]
    for line in ([h for h, _ in columns], *cells):
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def output(args: argparse.Namespace, rows: list[dict[str, Any]],
           columns: Sequence[Column]) -> int:
    """``--json``: the rows as the API gave them; else the table."""
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=2))
    else:
        table(rows, columns)
    return 0


def progress(what: str, done: int, total: int, failed: int = 0) -> None:
    """Draw ``what [#####     ] done/total`` on stderr (a newline at the end)."""
    bar = "#" * (30 * done // max(total, 1))
    line = f"{what} [{bar:<30}] {done}/{total}" + (f", {failed} failed" if failed else "")
    sys.stderr.write(("\r" if sys.stderr.isatty() else "") + line
                     + ("\n" if done == total or not sys.stderr.isatty() else ""))
    sys.stderr.flush()


class AnyTenantApi(Api):
    """The admin API for commands that name their tenant themselves (or none: ``tenants``)."""

    def _only_tenant(self, user: bool) -> str:
        return ""


def json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (print what the API answered instead of a table)."""
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
