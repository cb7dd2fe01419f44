"""``switchboard projects list|show|set|delete|import``: a tenant's projects over the admin API.

A project maps a ClickUp list, Slack channels and GitHub repos to one another (``--map
github:acme/frontend --map slack:C0123``) and names the agents that get its unclaimed work.
``import FILE`` puts many at once from a JSON list of projects (as ``list --json`` prints them),
showing its progress on stderr; it stops at the first refusal and says which project it was.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.admin_output import json_flag, output, progress
from cli.api_client import Api, CliError, command_adder, tenant_options

_PROVIDERS = ("github", "slack", "clickup")
_COLUMNS = (("ID", lambda p: p["id"]), ("NAME", lambda p: p["name"]),
            ("DEFAULT_AGENTS", lambda p: p["default_agents"]),
            ("MAPPINGS", lambda p: [f"{m['provider']}:{m['external_id']}" for m in p["mappings"]]))


def _path(api: Api, tail: str = "") -> str:
    return f"/admin/tenants/{api.tenant}/projects{tail}"


def _mapping(text: str) -> dict[str, str]:
    provider, sep, external = text.partition(":")
    if not sep or provider not in _PROVIDERS or not external:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not PROVIDER:ID (github:owner/repo, slack:C0123, clickup:901)")
    return {"provider": provider, "external_id": external}


def cmd_list(args: argparse.Namespace, api: Api) -> int:
    """Print the tenant's projects."""
    return output(args, api.call("GET", _path(api)), _COLUMNS)


def cmd_show(args: argparse.Namespace, api: Api) -> int:
    """Print one project as JSON."""
    found = [p for p in api.call("GET", _path(api)) if p["id"] == args.id]
    if not found:
        raise CliError(f"404 unknown_project: tenant {api.tenant!r} has no project {args.id!r}")
    print(json.dumps(found[0], indent=2))
    return 0


def cmd_set(args: argparse.Namespace, api: Api) -> int:
    """Create or replace a project."""
    made = api.call("PUT", _path(api, f"/{args.id}"), json={
        "name": args.name or args.id, "default_agents": args.default_agent or [],
        "mappings": args.map or []})
    print(f"project {made['id']}: " + (", ".join(
        f"{m['provider']}:{m['external_id']}" for m in made["mappings"]) or "no mappings"))
    return 0


def cmd_delete(args: argparse.Namespace, api: Api) -> int:
    """Delete a project."""
    api.call("DELETE", _path(api, f"/{args.id}"))
    print(f"project {args.id} deleted")
    return 0


def _read(file: str) -> list[dict[str, Any]]:
    try:
        projects = json.loads(Path(file).read_text())
    except (OSError, ValueError) as err:
        raise CliError(f"cannot read {file}: {err}") from None
    if not isinstance(projects, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) for p in projects):
        raise CliError(f"{file} must hold a JSON list of projects, each with an \"id\"")
    return projects


def cmd_import(args: argparse.Namespace, api: Api) -> int:
    """Put every project of a JSON file (create or replace), with progress on stderr."""
    projects = _read(args.file)
    for done, p in enumerate(projects):
        progress("projects", done, len(projects))
        body = {k: p[k] for k in ("name", "default_agents", "mappings", "mirrors") if k in p}
        body.setdefault("name", p["id"])
        try:
            api.call("PUT", _path(api, f"/{p['id']}"), json=body)
        except CliError as err:
            raise CliError(f"project {p['id']} ({done + 1} of {len(projects)}; the "
                           f"{done} before it are in): {err}") from None
    progress("projects", len(projects), len(projects))
    print(f"{len(projects)} projects imported into {api.tenant}")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard projects ...``."""
    common = tenant_options()
    projects = sub.add_parser("projects", help="a tenant's projects: list, show, set, delete, "
                                               "import")
    projects_sub = projects.add_subparsers(dest="projects_command", required=True)

    command = command_adder(projects_sub, "projects", common, Api)

    json_flag(command("list", cmd_list, "the tenant's projects, as a table"))
    command("show", cmd_show, "one project (JSON)").add_argument("id")
    put = command("set", cmd_set, "create or replace a project")
    put.add_argument("id")
    put.add_argument("--name", help="display name (default: the id)")
    put.add_argument("--map", action="append", type=_mapping, metavar="PROVIDER:ID",
                     help="github:owner/repo, slack:CHANNEL_ID or clickup:LIST_ID (repeatable)")
    put.add_argument("--default-agent", action="append", metavar="AGENT",
                     help="an agent that gets the project's unclaimed work (repeatable)")
    command("delete", cmd_delete, "delete a project").add_argument("id")
    command("import", cmd_import, "create or replace the projects of a JSON file"
            ).add_argument("file", help="a JSON list of projects (as list --json prints)")
