"""``switchboard sessions list|show|pause|resume|close``: a tenant's agent sessions, over the API.

Speaks as ``switchboard events`` does (cli/events.py): the user ``switchboard login`` kept, or
the bootstrap super-admin with ``SWITCHBOARD_ADMIN_TOKEN``; ``--tenant`` or the user's only
tenant. Pause, resume and close are signals to the session's workflow: the command waits (up to
``--timeout`` seconds, ``--no-wait`` to skip) until the session's row shows the workflow applied
it, and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from cli.api_client import Api, handler, tenant_options

_STATUSES = ("running", "waiting", "paused", "closed", "failed")
# The statuses that show the workflow applied each action.
_APPLIED = {"pause": {"paused", "closed", "failed"}, "resume": {"running", "waiting", "closed",
                                                               "failed"},
            "close": {"closed", "failed"}}


def _path(api: Api, tail: str = "") -> str:
    return f"/admin/tenants/{api.tenant}/sessions{tail}"


def cmd_list(args: argparse.Namespace, api: Api) -> int:
    """Print the tenant's sessions, newest first."""
    params = {k: v for k, v in (("agent", args.agent), ("status", args.status),
                                ("thread", args.thread), ("before", args.before),
                                ("after", args.after), ("limit", args.limit)) if v}
    rows = api.call("GET", _path(api), params=params)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'SESSION':<20}  {'CREATED':<19}  {'AGENT':<16}  {'STATUS':<7}  {'TURNS':>5}  THREAD")
    for s in rows:
        print(f"{s['id']:<20}  {s['created_at'][:19]:<19}  {s['agent_id']:<16}"
              f"  {s['status']:<7}  {s['turns']:>5}  {s['thread']}")
    return 0


def _show(s: dict[str, Any]) -> None:
    print(f"session {s['id']}  {s['status']}  agent {s['agent_id']}  thread {s['thread']}")
    print(f"  workflow {s['workflow_id']}  created {s['created_at']}  updated {s['updated_at']}"
          + (f"  closed {s['closed_at']}" if s.get("closed_at") else ""))
    if s.get("summary"):
        print(f"  summary: {s['summary']}")
    for t in s["history"]:
        print(f"turn {t['turn']} ({t['status']}, {t['started_at']}"
              f" -> {t['finished_at'] or '...'})")
        for m in t["messages"]:
            print(f"  > {m.get('author') or '?'}: {m['text']}")
        for c in t["tool_calls"]:
            print(f"  tool {c['name']}({json.dumps(c.get('arguments', {}))})"
                  f"{' ERROR' if c.get('is_error') else ''}: {c.get('result')}")
        if t["answer"] is not None:
            print(f"  < {t['answer']}")


def cmd_show(args: argparse.Namespace, api: Api) -> int:
    """Print one session with its turns (``--json``: as the API answers it)."""
    shown = api.call("GET", _path(api, f"/{args.id}"))
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        _show(shown)
    return 0


def cmd_action(args: argparse.Namespace, api: Api) -> int:
    """Pause, resume or close a session; wait until its workflow has applied it."""
    action = args.sessions_command
    asked = api.call("POST", _path(api, f"/{args.id}/{action}"))
    print(f"session {asked['id']}: {action} requested (was {asked['status']})")
    if args.no_wait:
        return 0
    deadline = time.monotonic() + args.timeout
    while (status := api.call("GET", _path(api, f"/{args.id}"))["status"]) \
            not in _APPLIED[action]:
        if time.monotonic() > deadline:
            print(f"session {args.id} is still {status} after {args.timeout:g} s (the request "
                  "stands; its workflow applies it when it runs)", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(f"session {args.id} is {status}")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard sessions list``, ``show``, ``pause``, ``resume`` and ``close``."""
    common = tenant_options()
    sessions = sub.add_parser("sessions", help="agents' sessions (one per agent and thread)")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", required=True)
    ls = sessions_sub.add_parser("list", parents=[common], help="sessions, newest first")
    ls.add_argument("--agent", help="only this agent's")
    ls.add_argument("--status", choices=_STATUSES)
    ls.add_argument("--thread", help='only this thread\'s ("<provider>:<container>:<item>")')
    ls.add_argument("--before", metavar="SESSION", help="page: sessions older than this one")
    ls.add_argument("--after", metavar="SESSION", help="page: sessions newer than this one")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (1-500)")
    ls.add_argument("--json", action="store_true", help="print the sessions as JSON")
    ls.set_defaults(func=handler("sessions", cmd_list, Api))
    show = sessions_sub.add_parser("show", parents=[common], help="one session with its turns")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print it as the API answers it")
    show.set_defaults(func=handler("sessions", cmd_show, Api))
    for action, text in (("pause", "pause a session (messages queue up, no turn runs)"),
                         ("resume", "resume a paused session"),
                         ("close", "close a session (the next message starts a new one)")):
        p = sessions_sub.add_parser(action, parents=[common], help=text)
        p.add_argument("id")
        p.add_argument("--no-wait", action="store_true",
                       help="do not wait for the session's workflow to apply it")
        p.add_argument("--timeout", type=float, default=30.0,
                       help="seconds to wait for it (default 30)")
        p.set_defaults(func=handler("sessions", cmd_action, Api))
