"""``switchboard tenants list|show|create|update|secret``: tenants over the admin API.

Speaks as ``switchboard events`` does (cli/api_client.py): the user ``switchboard login`` kept,
or the bootstrap super-admin with ``SWITCHBOARD_ADMIN_TOKEN``. A provider's signing secret is
read from standard input (never an argument: it would stay in the shell's history and in ``ps``).
"""

from __future__ import annotations

import argparse
import json
import sys

from cli.admin_output import AnyTenantApi, json_flag, output
from cli.api_client import CliError, command_adder

_COLUMNS = (("ID", lambda t: t["id"]), ("NAME", lambda t: t["name"]),
            ("DEFAULT_AGENTS", lambda t: t["default_agents"]),
            ("ADMIN_CHANNEL", lambda t: t.get("admin_channel")),
            ("CREATED", lambda t: t["created_at"][:19]))
_PROVIDERS = ("github", "slack", "clickup")


def cmd_list(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Print every tenant the caller may see."""
    return output(args, api.call("GET", "/admin/tenants"), _COLUMNS)


def cmd_show(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Print one tenant with its configured providers and its quota, as JSON."""
    tenant = api.call("GET", f"/admin/tenants/{args.id}")
    tenant["integrations"] = [i["provider"] for i in
                              api.call("GET", f"/admin/tenants/{args.id}/integrations")]
    tenant["quota"] = api.call("GET", f"/admin/tenants/{args.id}/quota")
    print(json.dumps(tenant, indent=2))
    return 0


def cmd_create(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Create a tenant."""
    made = api.call("POST", "/admin/tenants", json={
        "id": args.id, "name": args.name or args.id, "default_agents": args.default_agent or []})
    print(f"tenant {made['id']} created; webhooks: POST /webhooks/{{github|slack|clickup}}/"
          f"{made['id']} (set each provider's secret: switchboard tenants secret {made['id']} "
          "PROVIDER < secret-file)")
    return 0


def cmd_update(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Rename a tenant, or set its default agents or admin channel."""
    change = {k: v for k, v in (("name", args.name), ("default_agents", args.default_agent),
                                ("admin_channel", args.admin_channel)) if v is not None}
    if not change:
        raise CliError("nothing to change (--name, --default-agent, --admin-channel)")
    made = api.call("PATCH", f"/admin/tenants/{args.id}", json=change)
    print(f"tenant {made['id']} updated: " + ", ".join(f"{k} {v}" for k, v in change.items()))
    return 0


def cmd_secret(args: argparse.Namespace, api: AnyTenantApi) -> int:
    """Set a provider's webhook signing secret, read from standard input."""
    if sys.stdin.isatty():
        print(f"{args.provider} signing secret (then Enter): ", end="", file=sys.stderr,
              flush=True)
    secret = sys.stdin.readline().strip()
    if not secret:
        raise CliError("no secret on standard input")
    api.call("PUT", f"/admin/tenants/{args.id}/integrations/{args.provider}",
             json={"secret": secret})
    print(f"tenant {args.id}: {args.provider} signing secret set")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard tenants ...``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api", help="the API's URL (default: the login's, or HOST:PORT)")
    common.set_defaults(tenant=None)
    tenants = sub.add_parser("tenants", help="tenants: list, show, create, update, secrets")
    tenants_sub = tenants.add_subparsers(dest="tenants_command", required=True)

    command = command_adder(tenants_sub, "tenants", common, AnyTenantApi)

    json_flag(command("list", cmd_list, "every tenant, as a table"))
    command("show", cmd_show, "one tenant, its providers and quota (JSON)").add_argument("id")
    create = command("create", cmd_create, "create a tenant")
    create.add_argument("id", help="URL-safe id, used in webhook URLs")
    create.add_argument("--name", help="display name (default: the id)")
    create.add_argument("--default-agent", action="append", metavar="AGENT",
                        help="an agent that gets unclaimed work (repeatable)")
    update = command("update", cmd_update, "rename, default agents, admin channel")
    update.add_argument("id")
    update.add_argument("--name")
    update.add_argument("--default-agent", action="append", metavar="AGENT",
                        help="replaces the default agents (repeatable)")
    update.add_argument("--admin-channel", help="Slack channel id for alerts")
    secret = command("secret", cmd_secret, "set a provider's signing secret (from stdin)")
    secret.add_argument("id")
    secret.add_argument("provider", choices=_PROVIDERS)
