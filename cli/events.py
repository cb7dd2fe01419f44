"""``switchboard events list|show|replay``: a tenant's event log and its replays, over the API.

Speaks as the user ``switchboard login`` kept (its access token refreshed as ``whoami`` does), or,
when nobody is logged in, as the bootstrap super-admin with ``SWITCHBOARD_ADMIN_TOKEN``. The
tenant is ``--tenant``, or the logged-in user's only tenant. A bulk replay counts first (a dry
run), asks before replaying (``--yes`` skips the question), replays in one request under an
Idempotency-Key (printed, so that a retry with ``--idempotency-key`` replays nothing twice) and
then shows the replays running through the pipeline on a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from cli.api_client import Api, CliError, handler, tenant_options

_DONE = frozenset({"dispatched", "ignored", "failed"})
_STATUSES = ("received", "dispatched", "ignored", "failed")
_PROVIDERS = ("github", "slack", "clickup")


class EventsApi(Api):
    """The admin API on one tenant's events."""

    def events(self, path: str = "") -> str:
        """The path of the tenant's events (and below)."""
        return f"/admin/tenants/{self.tenant}/events{path}"


def cmd_list(args: argparse.Namespace, api: EventsApi) -> int:
    """Print the tenant's events, newest first."""
    params = {k: v for k, v in (("status", args.status), ("kind", args.kind),
                                ("provider", args.provider), ("limit", args.limit)) if v}
    rows = api.call("GET", api.events(), params=params)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'ID':>8}  {'RECEIVED':<19}  {'PROVIDER':<8}  {'STATUS':<10}  {'KIND':<14}"
          "  REPLAY_OF  EVENT")
    for e in rows:
        print(f"{e['id']:>8}  {e['received_at'][:19]:<19}  {e['provider']:<8}  {e['status']:<10}"
              f"  {e['kind'] or '-':<14}  {e['replay_of'] or '-':>9}  {e['event_name'] or '-'}")
    return 0


def cmd_show(args: argparse.Namespace, api: EventsApi) -> int:
    """Print one event (with replay_of and its replays) as JSON."""
    print(json.dumps(api.call("GET", api.events(f"/{args.id}")), indent=2))
    return 0


def cmd_replay(args: argparse.Namespace, api: EventsApi) -> int:
    """Replay one event, or (no ID) the events a filter matches after a dry run counts them."""
    key = args.idempotency_key or uuid.uuid4().hex
    headers = {"Idempotency-Key": key}
    filtered = any((args.status, args.kind, args.provider, args.after, args.before))
    if args.id is not None and filtered:
        raise CliError("give an event ID or filters, not both")
    if args.id is not None:
        one = api.call("POST", api.events(f"/{args.id}/replay"), headers=headers)
        print(f"event {one['event_id']} replayed as {one['replay_id']}"
              f"{' (already, by this key)' if one['repeated'] else ''}: {one['workflow_id']}")
        return 0 if args.no_wait else _wait(api, [one["replay_id"]], args.timeout)
    query = {k: v for k, v in (("status", args.status), ("kind", args.kind),
                               ("provider", args.provider), ("received_after", args.after),
                               ("received_before", args.before)) if v}
    query["limit"] = args.limit
    dry = api.call("POST", api.events("/replay"), json={**query, "dry_run": True})
    print(f"{dry['count']} events match: {' '.join(map(str, dry['event_ids'])) or '-'}")
    if args.dry_run or dry["count"] == 0:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("add --yes to replay without a question")
        if input(f"replay {dry['count']} events? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing replayed")
            return 0
    print(f"idempotency key {key} (retry with --idempotency-key {key})", file=sys.stderr)
    done = api.call("POST", api.events("/replay"), json=query, headers=headers)
    print(f"{done['replayed']} events replayed"
          f"{' (already, by this key)' if done['repeated'] else ''}: "
          + " ".join(f"{e['event_id']}->{e['replay_id']}" for e in done["events"]))
    ids = [e["replay_id"] for e in done["events"]]
    return 0 if args.no_wait or not ids else _wait(api, ids, args.timeout)


def _wait(api: EventsApi, ids: list[int], timeout: float) -> int:
    """Show the replays running to their outcome on a progress bar (stderr); 1 on timeout."""
    statuses: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        statuses.update(_statuses(api, ids))
        done = [i for i in ids if statuses.get(i) in _DONE]
        _progress(len(done), len(ids), statuses)
        if len(done) == len(ids):
            break
        if time.monotonic() > deadline:
            print(f"\n{len(ids) - len(done)} replays still running after {timeout:.0f} s "
                  "(they go on; see switchboard events list)", file=sys.stderr)
            return 1
        time.sleep(1.0)
    print(file=sys.stderr)
    counts = {s: sum(1 for i in ids if statuses[i] == s) for s in sorted(_DONE)}
    print(f"{len(ids)} replays finished: "
          + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return 0


def _statuses(api: EventsApi, ids: list[int]) -> dict[int, str]:
    """The statuses of the events ``ids``, read page by page from the newest of them down."""
    wanted, before = set(ids), max(ids) + 1
    found: dict[int, str] = {}
    while wanted - found.keys():
        page = api.call("GET", api.events(), params={"before_id": before, "limit": 500})
        found |= {e["id"]: e["status"] for e in page if e["id"] in wanted}
        if len(page) < 500 or page[-1]["id"] <= min(ids):
            break
        before = page[-1]["id"]
    return found


def _progress(done: int, total: int, statuses: dict[int, str]) -> None:
    failed = sum(1 for s in statuses.values() if s == "failed")
    bar = "#" * (30 * done // total)
    line = f"replays [{bar:<30}] {done}/{total} done" + (f", {failed} failed" if failed else "")
    sys.stderr.write(("\r" if sys.stderr.isatty() else "\n") + line)
    sys.stderr.flush()


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard events list``, ``show`` and ``replay``."""
    common = tenant_options()
    events = sub.add_parser("events", help="a tenant's event log; replay events")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--status", choices=_STATUSES)
    filters.add_argument("--kind", help="e.g. new_work_item, comment, ignore")
    filters.add_argument("--provider", choices=_PROVIDERS)
    ls = events_sub.add_parser("list", parents=[common, filters], help="events, newest first")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (1-500)")
    ls.add_argument("--json", action="store_true", help="print the events as JSON")
    ls.set_defaults(func=handler("events", cmd_list, EventsApi))
    show = events_sub.add_parser("show", parents=[common], help="one event, as JSON")
    show.add_argument("id", type=int)
    show.set_defaults(func=handler("events", cmd_show, EventsApi))
    replay = events_sub.add_parser(
        "replay", parents=[common, filters],
        help="replay one event (ID) or the events matching the filters")
    replay.add_argument("id", type=int, nargs="?", help="the event to replay (else: filters)")
    replay.add_argument("--after", metavar="TIME", help="received after (RFC 3339, with offset)")
    replay.add_argument("--before", metavar="TIME", help="received before (RFC 3339)")
    replay.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    replay.add_argument("--dry-run", action="store_true", help="only count what would replay")
    replay.add_argument("--yes", action="store_true", help="replay without asking")
    replay.add_argument("--idempotency-key", help="retry a replay: the same key replays once")
    replay.add_argument("--no-wait", action="store_true", help="do not wait for the outcomes")
    replay.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for the replays' outcomes (default 300)")
    replay.set_defaults(func=handler("events", cmd_replay, EventsApi))
