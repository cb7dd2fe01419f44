"""PostgreSQL access: one asyncpg pool per process and the SQL migration runner.

Migrations are plain numbered SQL files in ``infra/migrations``; each runs once, in its own
transaction, under an advisory lock so that several processes starting together apply it once.
Each ``NNNN_name.sql`` has its down step ``NNNN_name.down.sql``: :func:`rollback` applies them
newest first and forgets those versions, so ``migrate`` can apply them again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x5B0A_0001


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _release(conn: asyncpg.Connection) -> None:
    """What a connection goes through when given back to the pool, beyond what asyncpg always
    does (roll back an open transaction, drop the LISTEN callbacks): nothing.

    asyncpg's default also sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``,
    a round trip per release, so per query: about 5% of the platform worker's CPU under load
    (issue #17). No code here leaves session state on a pooled connection: settings are
    ``SET LOCAL``, advisory locks ``pg_advisory_xact_lock``, cursors live in transactions, and
    the one LISTEN (infra/listener.py) removes its channels before giving the connection back.
    """


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool whose connections decode json/jsonb to Python values."""
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, reset=_release
    )
    assert pool is not None
    return pool


async def ensure_database(url: str) -> None:
    """Create the URL's database if the server does not have it yet."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        return
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            log.info("created database %s", name)
    finally:
        await conn.close()


_DOWN = ".down.sql"


class MigrationError(Exception):
    """A rollback that cannot run: a version without its down step, or a bad target."""


@dataclass(frozen=True)
class Migration:
    """One numbered migration: its version (file name without .sql), up SQL and down SQL."""

    version: str
    up: str
    down: str | None

    @property
    def number(self) -> int:
        """The leading number of the version (``0007_limits`` -> 7)."""
        return int(self.version.split("_", 1)[0])


def migrations() -> list[Migration]:
    """Every migration in the package, oldest first, each with its down step if there is one."""
    folder = resources.files("infra") / "migrations"
    texts = {p.name: p.read_text() for p in folder.iterdir() if p.name.endswith(".sql")}
    ups = sorted(name for name in texts if not name.endswith(_DOWN))
    return [Migration(name.removesuffix(".sql"), texts[name],
                      texts.get(name.removesuffix(".sql") + _DOWN)) for name in ups]


def _migration_files() -> list[tuple[str, str]]:
    return [(m.version, m.up) for m in migrations()]


async def _lock_and_bookkeeping(conn: asyncpg.Connection) -> set[str]:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; return the versions applied by this call."""
    applied: list[str] = []
    async with conn.transaction():
        done = await _lock_and_bookkeeping(conn)
        for version, sql in _migration_files():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied.append(version)
            log.info("applied migration %s", version)
    return applied


def _target(to: str | int) -> int:
    text = str(to).split("_", 1)[0]
    if not text.isdigit():
        raise MigrationError(f"rollback target {to!r} is not a migration number such as 0012")
    return int(text)


async def rollback(conn: asyncpg.Connection, to: str | int) -> list[str]:
    """Undo every applied migration numbered above ``to``, newest first; return those versions.

    One transaction under the migration lock: a down step that fails leaves the schema as it
    was. ``to=0`` undoes everything, the bookkeeping table included. A version applied here
    whose file (or down step) this build does not have stops the rollback before any change.
    """
    target = _target(to)
    known = {m.version: m for m in migrations()}
    undone: list[str] = []
    async with conn.transaction():
        done = await _lock_and_bookkeeping(conn)
        pending = sorted((v for v in done if _target(v) > target), reverse=True)
        missing = [v for v in pending if v not in known or known[v].down is None]
        if missing:
            raise MigrationError(f"no down step for {', '.join(missing)}")
        for version in pending:
            down = known[version].down
            assert down is not None
            await conn.execute(down)
            await conn.execute("DELETE FROM schema_migrations WHERE version = $1", version)
            undone.append(version)
            log.info("rolled back migration %s", version)
        if target == 0:
            await conn.execute("DROP TABLE schema_migrations")
    return undone


migrate_down = rollback


async def delete_in_batches(pool: asyncpg.Pool, sql: str, *args: object, batch: int) -> int:
    """Run a batched DELETE until a batch removes fewer than ``batch`` rows; return the total.

    ``sql`` deletes at most ``batch`` rows (its last parameter is the batch size), each batch its
    own short transaction: a large prune holds no long lock and lets autovacuum keep up.
    """
    total = 0
    while True:
        status: str = await pool.execute(sql, *args, batch)
        done = int(status.rsplit(" ", 1)[-1])
        total += done
        if done < batch:
            return total
