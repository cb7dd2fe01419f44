"""``switchboard agents list|show|create|pause|resume`` and ``switchboard aliases list|set``.

A tenant's agents and aliases over the admin API, as ``switchboard events`` speaks to it
(cli/api_client.py): ``--tenant``, or the logged-in user's only tenant. (``switchboard agent run``,
singular, runs an agent's worker: cli/agents.py.)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from cli import agents as agent_runs
from cli.admin_output import json_flag, output
from cli.api_client import Api, CliError, command_adder, tenant_options

_COLUMNS = (("ID", lambda a: a["id"]), ("NAME", lambda a: a["name"]),
            ("STATUS", lambda a: a["status"]), ("OWNER", lambda a: a.get("owner")),
            ("MAX_TURNS", lambda a: a["max_turns"]),
            ("SESSIONS", lambda a: a["session_policy"] if a["sessions"] else "off"),
            ("CREATED", lambda a: a["created_at"][:19]))
Command = Callable[[argparse.Namespace, Api], int]


def _agents(api: Api, tail: str = "") -> str:
    return f"/admin/tenants/{api.tenant}/agents{tail}"


def _one(api: Api, agent_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [a for a in api.call("GET", _agents(api))
                                   if a["id"] == agent_id]
    if not found:
        raise CliError(f"404 unknown_agent: tenant {api.tenant!r} has no agent {agent_id!r}")
    return found[0]


def cmd_list(args: argparse.Namespace, api: Api) -> int:
    """Print the tenant's agents."""
    rows = [a for a in api.call("GET", _agents(api))
            if args.status is None or a["status"] == args.status]
    return output(args, rows, _COLUMNS)


def cmd_show(args: argparse.Namespace, api: Api) -> int:
    """Print one agent as JSON."""
    print(json.dumps(_one(api, args.id), indent=2))
    return 0


def cmd_create(args: argparse.Namespace, api: Api) -> int:
    """Create an agent."""
    body: dict[str, Any] = {"id": args.id, "name": args.name or args.id}
    body |= {k: v for k, v in (("role", args.role), ("owner", args.owner),
                               ("max_turns", args.max_turns)) if v is not None}
    made = api.call("POST", _agents(api), json=body)
    print(f"agent {made['id']} created in {api.tenant}; run its worker: switchboard agent run "
          f"--tenant {api.tenant} --agent-id {made['id']}")
    return 0


def _status(status: str) -> Command:
    def run(args: argparse.Namespace, api: Api) -> int:
        made = api.call("PATCH", _agents(api, f"/{args.id}"), json={"status": status})
        print(f"agent {made['id']} is {made['status']}")
        return 0
    return run


def cmd_aliases(args: argparse.Namespace, api: Api) -> int:
    """Print the tenant's aliases."""
    rows = api.call("GET", f"/admin/tenants/{api.tenant}/aliases")
    return output(args, rows, (("ALIAS", lambda a: "@" + a["name"]),
                               ("MEMBERS", lambda a: a["members"])))


def cmd_alias_set(args: argparse.Namespace, api: Api) -> int:
    """Create or replace an alias."""
    made = api.call("PUT", f"/admin/tenants/{api.tenant}/aliases/{args.name.lstrip('@')}",
                    json={"members": args.members})
    print(f"@{made['name']} -> {', '.join(made['members'])}")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard agents ...`` and ``switchboard aliases ...``."""
    common = tenant_options()
    agents = sub.add_parser("agents", help="a tenant's agents: list, show, create, pause, resume")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)

    command = command_adder(agents_sub, "agents", common, Api)

    ls = command("list", cmd_list, "the tenant's agents, as a table")
    ls.add_argument("--status", choices=("active", "paused", "offline"))
    json_flag(ls)
    command("show", cmd_show, "one agent (JSON)").add_argument("id")
    create = command("create", cmd_create, "create an agent")
    create.add_argument("id")
    create.add_argument("--name", help="display name (default: the id)")
    create.add_argument("--role", help="what it does, shown to people")
    create.add_argument("--owner", help="who answers for it")
    create.add_argument("--max-turns", type=int, help="think-act turns per run (1-100)")
    command("pause", _status("paused"), "take it out of routing").add_argument("id")
    command("resume", _status("active"), "route work to it again").add_argument("id")
    agent_runs.add_run_command(agents_sub, common)  # switchboard agents run: cli/agents.py

    aliases = sub.add_parser("aliases", help="a tenant's aliases: list, set")
    aliases_sub = aliases.add_subparsers(dest="aliases_command", required=True)
    alias_command = command_adder(aliases_sub, "aliases", common, Api)
    json_flag(alias_command("list", cmd_aliases, "the aliases, as a table"))
    put = alias_command("set", cmd_alias_set, "create or replace an alias")
    put.add_argument("name", help="the alias (with or without @)")
    put.add_argument("members", nargs="+", help="agent ids, or @alias for a nested one")
