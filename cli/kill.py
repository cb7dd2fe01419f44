"""``switchboard kill``: the kill switch from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from infra.settings import Settings


def cmd_kill(args: argparse.Namespace) -> int:
    """Flip the kill switch (or show it) through the switchboard-control workflow.

    A change is printed once it is applied; exit status 1 if it could not be applied in time.
    """
    from temporalio.service import RPCError

    from infra import temporal
    from infra.governance import control

    settings = Settings()

    async def main() -> str:
        client = await temporal.connect(settings.temporal)
        queue = settings.temporal.control_task_queue
        if args.resume:
            current = await control.resume(client, queue)
        elif not args.status:
            current = await control.stop_all(client, queue, args.reason)
        else:
            current = await control.state(client)
        return (f"kill switch: STOPPED ({current.reason})" if current.stopped
                else "kill switch: off (agents running)")

    try:
        print(asyncio.run(main()))
    except control.NotApplied as err:
        print(f"switchboard kill: {err}", file=sys.stderr)
        return 1
    except RPCError as err:
        print(f"switchboard kill: {err.message}", file=sys.stderr)
        return 1
    except RuntimeError as err:
        print(f"switchboard kill: cannot reach Temporal at {settings.temporal.address}: {err}",
              file=sys.stderr)
        return 1
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard kill``."""
    kill = sub.add_parser("kill", help="stop every agent now (the kill switch), or --resume")
    kill.add_argument("--reason", default="stopped from the command line",
                      help="why (shown to admins and in the control workflow)")
    kill.add_argument("--resume", action="store_true", help="let agents work again")
    kill.add_argument("--status", action="store_true", help="only show the switch")
    kill.set_defaults(func=cmd_kill)
