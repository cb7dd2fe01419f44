"""``switchboard kill``: the kill switch from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from infra.settings import Settings
from workflows.contracts import ControlChange, ControlState

if TYPE_CHECKING:
    from infra.temporal import LazyClient

CLI_RECORD_WITHIN_SECONDS = 10.0


def cmd_kill(args: argparse.Namespace) -> int:
    """Flip the kill switch (or show it).

    With ``DATABASE_URL`` the change is applied in the database directly, as the API applies it
    (in force without waiting on Temporal), audited, and recorded in the switchboard-control
    workflow; without it, it is asked of that workflow, which answers once it is applied. A
    change is printed once it is applied; exit status 1 if it could not be applied in time.
    """
    import asyncpg
    from temporalio.service import RPCError

    from infra import temporal
    from infra.governance import control

    settings = Settings()
    queue = settings.temporal.control_task_queue

    async def main() -> str:
        asked = None if args.status else ControlChange(
            action="resume" if args.resume else "stop_all", reason=args.reason)
        if settings.database.url is not None:
            current = await _direct(settings.database.url, asked,
                                    temporal.LazyClient(settings.temporal), queue)
        else:
            client = await temporal.connect(settings.temporal)
            current = (await control.state(client) if asked is None
                       else await control.change(client, queue, asked))
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
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        print(f"switchboard kill: cannot reach the database: {err}", file=sys.stderr)
        return 1
    except RuntimeError as err:
        print(f"switchboard kill: cannot reach Temporal at {settings.temporal.address}: {err}",
              file=sys.stderr)
        return 1
    return 0


async def _direct(url: str, asked: ControlChange | None, client: LazyClient,
                  queue: str) -> ControlState:
    """Show, or apply and audit, in the database; the record in the workflow is best-effort."""
    from infra import audit, database
    from infra.governance import control, kill_switch

    pool = await database.create_pool(url, min_size=1, max_size=2)
    try:
        if asked is None:
            return await kill_switch.current(pool)
        # A one-shot process: no background to finish the record in, so it waits longer.
        done = await control.apply(pool, client, queue, asked, within=CLI_RECORD_WITHIN_SECONDS)
        state = done.state
        await audit.record(pool, audit.AuditEntry(
            actor="switchboard-cli", action="kill_switch.applied", outcome="ok",
            detail={"stopped": state.stopped, "reason": state.reason, "version": state.changes,
                    "recorded": done.recorded}))
        if not done.recorded:
            print("switchboard kill: applied; the control workflow has not recorded it (Temporal"
                  " unreachable or slow)", file=sys.stderr)
        return state
    finally:
        await pool.close()


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard kill``."""
    kill = sub.add_parser("kill", help="stop every agent now (the kill switch), or --resume")
    kill.add_argument("--reason", default="stopped from the command line",
                      help="why (shown to admins and in the control workflow)")
    kill.add_argument("--resume", action="store_true", help="let agents work again")
    kill.add_argument("--status", action="store_true", help="only show the switch")
    kill.set_defaults(func=cmd_kill)
