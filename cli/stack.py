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
                  args.ui_port, wait_seconds=args.wait)
    return asyncio.run(stack.run())


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the HTTP API (webhooks, admin, docs) and run the relay."""
    import uvicorn

    from api.app import create_app
    from api.http_protocol import HttpProtocol
    from infra import readiness

    configure_logging()
    settings = Settings()
    if settings.database.url is not None:  # started beside PostgreSQL (compose): wait, bounded
        asyncio.run(readiness.wait_for_postgres(settings.database.url))
    app = create_app(settings)
    uvicorn.run(
        app, host=args.host or settings.api.host, port=args.port or settings.api.port,
        log_level="info", access_log=os.environ.get("SWITCHBOARD_ACCESS_LOG") == "1",
        http=HttpProtocol,  # httptools, with JSON errors for requests it cannot parse
        log_config=None,  # uvicorn's lines go through our handler (text or JSON, with ids)
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the platform worker (workflows, pipeline and gateway activities)."""
    from infra import database, readiness, temporal, tracing
    from infra.context.schedule import ensure_summary_schedule
    from infra.gateway.clients import aclose_clients
    from infra.governance import kill_switch
    from infra.governance.control import ensure_control
    from infra.retention.schedule import ensure_retention_schedule
    from workers.platform import platform_workers

    configure_logging()
    settings = Settings()

    async def main() -> None:
        if settings.database.url is None:
            raise SystemExit("DATABASE_URL is not set")
        # Started beside PostgreSQL and Temporal (compose, Kubernetes): wait for them, bounded.
        await readiness.wait_for_postgres(settings.database.url)
        await readiness.wait_for_temporal(settings.temporal)
        pool = await database.create_pool(settings.database.url)
        tracing.configure(settings.tracing, "switchboard-worker")  # off unless OTEL_* say so
        client = await temporal.connect(settings.temporal,
                                        runtime=temporal.worker_runtime(settings.worker_metrics))
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
        await ensure_retention_schedule(client, settings.temporal.task_queue,
                                        timedelta(hours=settings.retention.every_hours))
        log.info("platform worker polling %s, %s and %s", settings.temporal.task_queue,
                 settings.gateway.task_queue, settings.temporal.control_task_queue)
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            await aclose_clients()  # the gateway's long-lived provider clients
            await pool.close()

    asyncio.run(main())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending database migrations to DATABASE_URL (waiting for the server first)."""
    from infra import database, readiness
    from infra.stack import seed_demo

    settings = Settings()
    if settings.database.url is None:
        print("switchboard migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    url = settings.database.url
    try:
        asyncio.run(readiness.wait_for_postgres(url, args.wait))
    except readiness.ServiceUnavailable as err:
        print(f"switchboard migrate: {err}", file=sys.stderr)
        return 1

    down_to: str | None = getattr(args, "down_to", None)

    async def main() -> list[str]:
        await database.ensure_database(url)
        pool = await database.create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                if down_to is not None:
                    return await database.rollback(conn, to=down_to)
                applied = await database.migrate(conn)
            return applied + (await seed_demo(pool) if args.demo else [])
        finally:
            await pool.close()

    try:
        changed = asyncio.run(main())
    except database.MigrationError as exc:
        print(f"switchboard migrate: {exc}", file=sys.stderr)
        return 1
    if down_to is not None:
        print(f"rolled back: {', '.join(changed) or 'nothing (already there)'}")
        return 0
    print(f"applied: {', '.join(changed) or 'nothing (up to date)'}")
    return 0


def add_up(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard up``."""
    up = sub.add_parser("up", help="start the embedded stack (Postgres, Temporal, API, workers)")
    up.add_argument("--data-dir", help="state directory (default .switchboard)")
    up.add_argument("--port", type=int, help="API port (default $SWITCHBOARD_PORT or 8000)")
    up.add_argument("--temporal-port", type=int, default=7233, help="Temporal gRPC port")
    up.add_argument("--ui-port", type=int, default=8233, help="Temporal UI port")
    up.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                    help="how long an external PostgreSQL (DATABASE_URL) or Temporal "
                         "(TEMPORAL_ADDRESS) may take to accept connections (default 60)")
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
    migrate.add_argument("--demo", action="store_true",
                         help="also create the demo tenant and its demo agent if missing")
    migrate.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                         help="how long PostgreSQL may take to accept connections (default 60)")
    migrate.add_argument("--down-to", metavar="NNNN", help="instead roll back every migration"
                         " numbered above NNNN, newest first (0000: all of them)")
    migrate.set_defaults(func=cmd_migrate)
