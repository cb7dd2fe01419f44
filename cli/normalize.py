"""``switchboard normalize``: the StandardEvent a webhook body becomes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_normalize(args: argparse.Namespace) -> int:
    """Print the StandardEvent a webhook body normalizes to."""
    from activities.normalize import normalize
    from workflows.contracts import Provider

    try:
        payload = json.loads(Path(args.file).read_bytes())
    except OSError as exc:
        print(f"switchboard normalize: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"switchboard normalize: {args.file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(payload, dict):
        print(f"switchboard normalize: {args.file} must hold a JSON object", file=sys.stderr)
        return 2
    if args.provider == "github" and not args.event:
        print("switchboard normalize: GitHub needs --event (the X-GitHub-Event value)",
              file=sys.stderr)
        return 2
    event = normalize(Provider(args.provider), args.tenant, payload, args.event)
    print(event.model_dump_json(indent=2, exclude_none=True))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard normalize``."""
    norm = sub.add_parser("normalize", help="print the StandardEvent of a webhook body")
    norm.add_argument("--provider", required=True, choices=["github", "slack", "clickup"])
    norm.add_argument("--event", help="X-GitHub-Event value (GitHub only)")
    norm.add_argument("--tenant", default="cli", help="tenant id to stamp on the event")
    norm.add_argument("file")
    norm.set_defaults(func=cmd_normalize)
