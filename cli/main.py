"""The ``switchboard`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from cli import (
    admin_agents,
    admin_projects,
    admin_tenants,
    admin_usage,
    agents,
    auth,
    context,
    events,
    kill,
    normalize,
    secrets,
    sessions,
    stack,
)


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand, in the order ``--help`` lists them."""
    p = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    stack.add_up(sub)
    stack.add_api(sub)
    stack.add_worker(sub)
    agents.add_parsers(sub)
    normalize.add_parsers(sub)
    kill.add_parsers(sub)
    context.add_parsers(sub)
    stack.add_migrate(sub)
    secrets.add_parsers(sub)
    auth.add_parsers(sub)
    events.add_parsers(sub)
    sessions.add_parsers(sub)
    admin_tenants.add_parsers(sub)  # tenants, agents, aliases, projects, usage: the admin API
    admin_agents.add_parsers(sub)
    admin_projects.add_parsers(sub)
    admin_usage.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


def run() -> None:
    """Run the command, then leave without interpreter finalization.

    temporalio's Rust core keeps tokio threads that can race CPython's finalization once a
    client was used, aborting a finished command (SIGABRT or SIGSEGV, about 1 run of
    ``switchboard kill --status`` in 30 here; temporalio/sdk-python#300). Once the command's
    work is done there is nothing left to finalize but our own output, so flush it and exit.
    """
    try:
        code = main()
    except SystemExit as done:  # argparse's --help and usage errors, printed already
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
