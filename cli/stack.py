"""``switchboard up``, ``api``, ``worker`` and ``migrate``: running the platform's processes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from cli.logs import configure_logging
from infra.settings import Settings


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

    configure_logging()
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
    from infra.context.schedule import ensure_summary_schedule
    from infra.governance import kill_switch
    from infra.governance.control import ensure_control
    from workers.platform import platform_workers

    configure_logging()
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
        workers = platform_workers(client, pool, settings)
        # Started from the database's state and version, so the workflow's view (the UI's)
        # matches what is applied until the next change it records.
        await ensure_control(client, settings.temporal.control_task_queue,
                             await kill_switch.current(pool))
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


def add_up(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard up``."""
    up = sub.add_parser("up", help="start the embedded stack (Postgres, Temporal, API, workers)")
    up.add_argument("--data-dir", help="state directory (default .switchboard)")
    up.add_argument("--port", type=int, help="API port (default $SWITCHBOARD_PORT or 8000)")
    up.add_argument("--temporal-port", type=int, default=7233, help="Temporal gRPC port")
    up.add_argument("--ui-port", type=int, default=8233, help="Temporal UI port")
    up.set_defaults(func=cmd_up)


def add_api(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard api``."""
    api = sub.add_parser("api", help="serve the HTTP API and run the relay")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(func=cmd_api)


def add_worker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard worker``."""
    worker = sub.add_parser("worker", help="run the platform worker")
    worker.set_defaults(func=cmd_worker)


def add_migrate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard migrate``."""
    migrate = sub.add_parser("migrate", help="apply database migrations to DATABASE_URL")
    migrate.set_defaults(func=cmd_migrate)
