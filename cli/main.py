"""The ``switchboard`` command line."""

from __future__ import annotations

import argparse
import sys

from cli import agents, context, kill, normalize, secrets, stack


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
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
