"""``switchboard secrets set|list|delete``: a tenant's gateway credentials, write-only;
``switchboard secrets rotate-master-key``: everything sealed, sealed again under a new key."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from infra.settings import Settings

if TYPE_CHECKING:
    from infra.vault import SecretStore


def _secrets_settings(command: str) -> Settings | None:
    """Settings for a ``secrets`` command; None (after saying why) if they are unusable."""
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:  # only the messages: the inputs may be secrets
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            print(f"switchboard secrets {command}: {where}: {err['msg']}", file=sys.stderr)
        return None
    if settings.database.url is None:
        print(f"switchboard secrets {command}: DATABASE_URL is not set", file=sys.stderr)
        return None
    return settings


def _secrets_run(args: argparse.Namespace, action: Callable[[SecretStore], Awaitable[int]]) -> int:
    """Open the database and the configured store, check the tenant, run ``action``."""
    import asyncpg

    from infra import database
    from infra.directory import tenants
    from infra.vault import SecretStoreConfigError, SecretStoreError, build_secret_store

    command = args.secrets_command
    settings = _secrets_settings(command)
    if settings is None or settings.database.url is None:
        return 2
    url = settings.database.url

    async def main() -> int:
        pool = await database.create_pool(url, min_size=1, max_size=1)
        try:
            store = build_secret_store(settings, pool)
            if await tenants.get_tenant(pool, args.tenant) is None:
                print(f"switchboard secrets {command}: no tenant {args.tenant!r}", file=sys.stderr)
                return 1
            return await action(store)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except SecretStoreConfigError as exc:
        print(f"switchboard secrets {command}: {exc}", file=sys.stderr)
        return 2
    except SecretStoreError as exc:
        print(f"switchboard secrets {command}: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"switchboard secrets {command}: database error: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1


def _read_secret_value(name: str) -> str:
    """The value from a hidden prompt on a terminal, else all of stdin minus one final newline."""
    if sys.stdin.isatty():
        return getpass.getpass(f"value of {name} (input hidden): ")
    value = sys.stdin.read()
    return value.removesuffix("\n").removesuffix("\r")


def cmd_secrets_set(args: argparse.Namespace) -> int:
    """Store a tenant's secret; the value comes from stdin or a hidden prompt, never argv."""
    from infra.vault import MAX_VALUE_CHARS, InvalidSecret, check_key

    try:
        check_key(args.tenant, args.name)
    except InvalidSecret as exc:
        print(f"switchboard secrets set: {exc}", file=sys.stderr)
        return 2
    value = _read_secret_value(args.name)
    if not value or len(value) > MAX_VALUE_CHARS:
        print(f"switchboard secrets set: the value must be 1 to {MAX_VALUE_CHARS} characters "
              "(pipe it on stdin, or type it at the prompt)", file=sys.stderr)
        return 2

    async def put(store: SecretStore) -> int:
        await store.put(args.tenant, args.name, value)
        print(f"stored secret {args.name} for tenant {args.tenant}")
        return 0

    return _secrets_run(args, put)


def cmd_secrets_list(args: argparse.Namespace) -> int:
    """Print a tenant's secret names and change times (never the values)."""

    async def show(store: SecretStore) -> int:
        for entry in await store.entries(args.tenant):
            changed = entry.updated_at.isoformat(timespec="seconds") if entry.updated_at else "-"
            print(f"{entry.name}\t{changed}")
        return 0

    return _secrets_run(args, show)


def cmd_secrets_delete(args: argparse.Namespace) -> int:
    """Delete a tenant's secret; exit 1 if there was none."""

    async def delete(store: SecretStore) -> int:
        if not await store.delete(args.tenant, args.name):
            print(f"switchboard secrets delete: tenant {args.tenant} has no secret {args.name}",
                  file=sys.stderr)
            return 1
        print(f"deleted secret {args.name} of tenant {args.tenant}")
        return 0

    return _secrets_run(args, delete)


def cmd_secrets_rotate_master_key(args: argparse.Namespace) -> int:
    """Seal every sealed value again under a new master key (stdin or a hidden prompt)."""
    import base64
    import binascii

    import asyncpg

    from infra import database
    from infra.vault.master_key import weakness
    from infra.vault.rekey import WrongMasterKey, rotate_master_key

    command = "rotate-master-key"
    settings = _secrets_settings(command)
    if settings is None or settings.database.url is None:
        return 2
    if settings.master_key is None:
        print(f"switchboard secrets {command}: SWITCHBOARD_MASTER_KEY (the current key) is not "
              "set", file=sys.stderr)
        return 2
    old = settings.master_key_bytes()
    try:
        new = base64.b64decode(_read_secret_value("the new master key").strip(), validate=True)
    except (binascii.Error, ValueError):
        new = b""
    reason = "it is not base64 of 32 bytes" if len(new) != 32 else (
        "it is the current key" if new == old else weakness(new))
    if reason is not None:
        print(f"switchboard secrets {command}: refusing the new key: {reason}", file=sys.stderr)
        return 2
    url = settings.database.url

    async def main() -> int:
        pool = await database.create_pool(url, min_size=1, max_size=1)
        try:
            done = await rotate_master_key(pool, old, new)
        finally:
            await pool.close()
        print(f"resealed {done.integrations} signing secrets, {done.secrets} vault secrets and "
              f"{done.signing_keys} token signing keys under the new key: set "
              "SWITCHBOARD_MASTER_KEY to it and restart the API and the platform worker")
        return 0

    try:
        return asyncio.run(main())
    except WrongMasterKey as exc:
        print(f"switchboard secrets {command}: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"switchboard secrets {command}: database error: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard secrets set|list|delete|rotate-master-key``."""
    secrets_cmd = sub.add_parser("secrets", help="a tenant's gateway credentials (write-only)")
    secrets_sub = secrets_cmd.add_subparsers(dest="secrets_command", required=True)
    put = secrets_sub.add_parser(
        "set", help="store a secret; the value is read from stdin or a hidden prompt")
    put.add_argument("--tenant", required=True)
    put.add_argument("name", help="secret name, e.g. github_token")
    put.set_defaults(func=cmd_secrets_set)
    ls = secrets_sub.add_parser("list", help="list secret names and change times, never values")
    ls.add_argument("--tenant", required=True)
    ls.set_defaults(func=cmd_secrets_list)
    rm = secrets_sub.add_parser("delete", help="delete a secret")
    rm.add_argument("--tenant", required=True)
    rm.add_argument("name")
    rm.set_defaults(func=cmd_secrets_delete)
    rotate = secrets_sub.add_parser(
        "rotate-master-key", help="seal everything again under a new master key (read from "
        "stdin or a hidden prompt; the current one is SWITCHBOARD_MASTER_KEY)")
    rotate.set_defaults(func=cmd_secrets_rotate_master_key)
