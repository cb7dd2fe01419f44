"""The ``switchboard`` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.settings import Settings

if TYPE_CHECKING:
    from infra.vault import SecretStore


def _logging() -> None:
    logging.basicConfig(
        level=os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_up(args: argparse.Namespace) -> int:
    """Start the embedded stack and supervise it until Ctrl-C."""
    from infra.stack import Stack

    os.environ.setdefault("SWITCHBOARD_DEV_MODE", "true")
    settings = Settings()
    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    stack = Stack(settings, data_dir, args.port or settings.api.port, args.temporal_port,
                  args.ui_port)
    return asyncio.run(stack.run())


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the HTTP API (webhooks, admin, docs) and run the relay."""
    import uvicorn

    from api.app import create_app
    from api.http_protocol import HttpProtocol

    _logging()
    settings = Settings()
    app = create_app(settings)
    uvicorn.run(
        app, host=args.host or settings.api.host, port=args.port or settings.api.port,
        log_level="info", access_log=os.environ.get("SWITCHBOARD_ACCESS_LOG") == "1",
        http=HttpProtocol,  # httptools, with JSON errors for requests it cannot parse
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the platform worker (workflows, pipeline and gateway activities)."""
    from infra import database, temporal
    from infra.control import ensure_control
    from infra.schedules import ensure_summary_schedule
    from infra.store import control as control_store
    from infra.vault import build_secret_store
    from workers.platform import platform_workers
    from workflows.contracts import ControlState

    _logging()
    settings = Settings()

    async def main() -> None:
        if settings.database.url is None:
            raise SystemExit("DATABASE_URL is not set")
        pool = await database.create_pool(settings.database.url)
        client = await temporal.connect(settings.temporal)
        added = await temporal.ensure_search_attributes(client)
        log = logging.getLogger("switchboard")
        if added:
            log.info("registered search attributes %s", ", ".join(added))
        workers = platform_workers(client, pool, settings, build_secret_store(settings, pool))
        stopped, reason = await control_store.is_stopped(pool)
        await ensure_control(client, settings.temporal.control_task_queue,
                             ControlState(stopped=stopped, reason=reason))
        await ensure_summary_schedule(client, settings.temporal.task_queue,
                                      timedelta(seconds=settings.context.summarize_every_seconds))
        log.info("platform worker polling %s, %s and %s", settings.temporal.task_queue,
                 settings.gateway.task_queue, settings.temporal.control_task_queue)
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            await pool.close()

    asyncio.run(main())
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    """Flip the kill switch (or show it) through the switchboard-control workflow.

    A change is printed once it is applied; exit status 1 if it could not be applied in time.
    """
    from infra import control, temporal

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
    except RuntimeError as err:
        print(f"switchboard kill: cannot reach Temporal at {settings.temporal.address}: {err}",
              file=sys.stderr)
        return 1
    return 0


def cmd_agent_run(args: argparse.Namespace) -> int:
    """Run an agent's worker on its own task queue (``agent.<id>``)."""
    from infra import temporal
    from workers.agent import runtime_worker
    from workers.runtime import RuntimeConfigError, build_runtime
    from workflows.ids import agent_task_queue

    _logging()
    settings = Settings()
    overrides: dict[str, object] = {
        key: value for key, value in (
            ("llm", args.llm), ("model", args.model), ("base_url", args.base_url),
            ("script", Path(args.script) if args.script else None),
            ("prompt_file", Path(args.prompt) if args.prompt else None), ("mcp", args.mcp),
            ("tenant", args.tenant),
        ) if value is not None
    }
    agent_settings = settings.agent.model_copy(update=overrides)

    async def main() -> None:
        log = logging.getLogger("switchboard")
        async with build_runtime(agent_settings, args.agent_id) as runtime:
            client = await temporal.connect(settings.temporal)
            worker = runtime_worker(client, runtime)
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            log.info("agent %s polling %s: %s", args.agent_id, agent_task_queue(args.agent_id),
                     runtime.describe())
            running = asyncio.create_task(worker.run())
            stopping = asyncio.create_task(stop.wait())
            beating = asyncio.create_task(_heartbeats(client, settings, agent_settings,
                                                      args.agent_id))
            await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            beating.cancel()
            if not running.done():  # finish the steps in flight, then stop the MCP servers
                await worker.shutdown()
            await running
        log.info("agent %s stopped", args.agent_id)

    try:
        asyncio.run(main())
    except RuntimeConfigError as err:
        print(f"switchboard agent run: {err}", file=sys.stderr)
        return 2
    return 0


async def _heartbeats(client: Any, settings: Settings, agent: Any, agent_id: str) -> None:
    """PING the agent's presence workflow every interval while the worker runs."""
    from infra import presence

    log = logging.getLogger("switchboard")
    if agent.tenant is None:
        log.info("no --tenant given: agent %s sends no presence heartbeats", agent_id)
        return
    while True:
        try:
            await presence.heartbeat(client, settings.temporal.task_queue, agent.tenant, agent_id,
                                     agent.heartbeat_seconds)
        except Exception as err:  # Temporal away: try again next beat
            log.warning("heartbeat of %s not sent: %s", agent_id, type(err).__name__)
        await asyncio.sleep(agent.heartbeat_seconds)


def cmd_context_search(args: argparse.Namespace) -> int:
    """Search a tenant's memory from the command line (DATABASE_URL must be set)."""
    from infra import database
    from infra.context import KnowledgeStore, build_embedder

    settings = Settings()
    if settings.database.url is None:
        print("switchboard context search: DATABASE_URL is not set", file=sys.stderr)
        return 2
    url = settings.database.url

    async def main() -> list[Any]:
        pool = await database.create_pool(url, min_size=1, max_size=2)
        try:
            store = KnowledgeStore(pool, build_embedder(settings.context), settings.context)
            return await store.search(args.tenant, args.query, k=args.k)
        finally:
            await pool.close()

    for item in asyncio.run(main()):
        link = f" <{item.url}>" if item.url else ""
        print(f"{item.score:.3f}  [{item.source}] {item.title}{link}")
        print("       " + item.text.strip().replace("\n", " ")[:200])
    return 0


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


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending database migrations to DATABASE_URL."""
    from infra import database

    settings = Settings()
    if settings.database.url is None:
        print("switchboard migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    url = settings.database.url

    async def main() -> list[str]:
        await database.ensure_database(url)
        pool = await database.create_pool(url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await database.migrate(conn)
        finally:
            await pool.close()

    applied = asyncio.run(main())
    print(f"applied: {', '.join(applied) or 'nothing (up to date)'}")
    return 0


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
    from infra.store import directory
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
            if await directory.get_tenant(pool, args.tenant) is None:
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


def parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the embedded stack (Postgres, Temporal, API, workers)")
    up.add_argument("--data-dir", help="state directory (default .switchboard)")
    up.add_argument("--port", type=int, help="API port (default $SWITCHBOARD_PORT or 8000)")
    up.add_argument("--temporal-port", type=int, default=7233, help="Temporal gRPC port")
    up.add_argument("--ui-port", type=int, default=8233, help="Temporal UI port")
    up.set_defaults(func=cmd_up)

    api = sub.add_parser("api", help="serve the HTTP API and run the relay")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(func=cmd_api)

    worker = sub.add_parser("worker", help="run the platform worker")
    worker.set_defaults(func=cmd_worker)

    agent = sub.add_parser("agent", help="agent runtime")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    run = agent_sub.add_parser("run", help="run one agent's worker")
    run.add_argument("--agent-id", required=True)
    run.add_argument("--tenant", help="the agent's tenant (enables presence heartbeats)")
    run.add_argument("--llm", choices=["demo", "openai", "scripted"],
                     help="the agent's brain (default $SWITCHBOARD_AGENT_LLM or demo)")
    run.add_argument("--model", help="model name (default $SWITCHBOARD_AGENT_MODEL)")
    run.add_argument("--base-url", help="OpenAI-compatible base URL (default the OpenAI API)")
    run.add_argument("--script", metavar="FILE", help="JSON script for --llm scripted")
    run.add_argument("--prompt", metavar="FILE", help="system prompt template file")
    run.add_argument("--mcp", action="append", metavar="'[PREFIX=]COMMAND ARGS...'",
                     help="attach an MCP server over stdio as a skill set (repeatable; replaces "
                          "$SWITCHBOARD_AGENT_MCP), e.g. "
                          "--mcp 'time=mcp-server-time --local-timezone UTC'")
    run.set_defaults(func=cmd_agent_run)

    norm = sub.add_parser("normalize", help="print the StandardEvent of a webhook body")
    norm.add_argument("--provider", required=True, choices=["github", "slack", "clickup"])
    norm.add_argument("--event", help="X-GitHub-Event value (GitHub only)")
    norm.add_argument("--tenant", default="cli", help="tenant id to stamp on the event")
    norm.add_argument("file")
    norm.set_defaults(func=cmd_normalize)

    kill = sub.add_parser("kill", help="stop every agent now (the kill switch), or --resume")
    kill.add_argument("--reason", default="stopped from the command line",
                      help="why (shown to admins and in the control workflow)")
    kill.add_argument("--resume", action="store_true", help="let agents work again")
    kill.add_argument("--status", action="store_true", help="only show the switch")
    kill.set_defaults(func=cmd_kill)

    ctx = sub.add_parser("context", help="the context engine")
    ctx_sub = ctx.add_subparsers(dest="context_command", required=True)
    search = ctx_sub.add_parser("search", help="search a tenant's memory")
    search.add_argument("--tenant", required=True)
    search.add_argument("-k", type=int, default=5, help="results (default 5)")
    search.add_argument("query")
    search.set_defaults(func=cmd_context_search)

    migrate = sub.add_parser("migrate", help="apply database migrations to DATABASE_URL")
    migrate.set_defaults(func=cmd_migrate)

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
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
