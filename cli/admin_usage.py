"""``switchboard usage``: LLM tokens, tool calls, thinks, runs and think time per agent.

Over the admin API (``GET /admin/usage``), as the bootstrap super-admin or a user allowed to
read it; ``--tenant`` narrows it to one tenant (every tenant otherwise), with a total line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli.admin_output import AnyTenantApi, Column, json_flag, table
from cli.api_client import CliError

_FIGURES = ("runs", "thinks", "input_tokens", "output_tokens", "tool_calls", "duration_ms")
_COLUMNS: list[Column] = [
    ("TENANT", lambda r: r["tenant_id"]), ("AGENT", lambda r: r["agent_id"]),
    ("RUNS", lambda r: r["runs"]), ("THINKS", lambda r: r["thinks"]),
    ("INPUT_TOKENS", lambda r: r["input_tokens"]), ("OUTPUT_TOKENS", lambda r: r["output_tokens"]),
    ("TOOL_CALLS", lambda r: r["tool_calls"]),
    ("THINK_S", lambda r: round(r["duration_ms"] / 1000, 1))]


def cmd_usage(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Print usage by tenant and agent, with the totals."""
    rows: list[dict[str, Any]] = api.call(
        "GET", "/admin/usage", params={"tenant_id": args.tenant} if args.tenant else {})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    total = {"tenant_id": "TOTAL", "agent_id": "", **{f: sum(r[f] for r in rows)
                                                     for f in _FIGURES}}
    table([*rows, total] if rows else [], _COLUMNS)
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        return cmd_usage(args, AnyTenantApi(args))
    except CliError as err:
        print(f"switchboard usage: {err}", file=sys.stderr)
        return 1


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard usage``."""
    usage = sub.add_parser("usage", help="usage (tokens, tool calls, runs) by tenant and agent")
    usage.add_argument("--tenant", help="only this tenant (default: every tenant)")
    usage.add_argument("--api", help="the API's URL (default: the login's, or HOST:PORT)")
    json_flag(usage)
    usage.set_defaults(func=_run)
