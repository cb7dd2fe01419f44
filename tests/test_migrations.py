"""Reversible migrations on a real, fresh PostgreSQL database: up -> down -> up.

Each down step must undo exactly its own up step: the schema (tables, columns with types,
defaults and storage, constraints, indexes, functions, triggers, types, extensions) read from
the catalogs after ``up N; down N`` is the one read before ``up N``. Covers every migration file
present, so a new migration without a faithful down step fails here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from cli.main import main as cli_main
from infra import database
from infra.embedded import database_url

# Each query names one kind of schema object in `public` (where our migrations and pgvector live)
# as sorted text rows, so two snapshots compare as plain data.
CATALOG = {
    "relations": "SELECT c.relname || ' ' || c.relkind::text FROM pg_class c"
                 " WHERE c.relnamespace = 'public'::regnamespace",
    "columns": "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
               " || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
               " || ' identity=' || a.attidentity::text || ' storage=' || a.attstorage::text"
               " || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')"
               " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
               " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
               " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm')"
               " AND a.attnum > 0 AND NOT a.attisdropped",
    "constraints": "SELECT conrelid::regclass::text || ' ' || conname || ' '"
                   " || pg_get_constraintdef(oid) FROM pg_constraint"
                   " WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "functions": "SELECT p.oid::regprocedure::text || ' ' || md5(p.prosrc) FROM pg_proc p"
                 " WHERE p.pronamespace = 'public'::regnamespace",
    "triggers": "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c"
                " ON c.oid = t.tgrelid WHERE c.relnamespace = 'public'::regnamespace"
                " AND NOT t.tgisinternal",
    "types": "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace",
    "extensions": "SELECT extname || ' ' || extversion FROM pg_extension",
}

Snapshot = dict[str, list[str]]


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    """The database's schema as sorted text, kind by kind."""
    return {kind: sorted(r[0] for r in await conn.fetch(sql)) for kind, sql in CATALOG.items()}


def difference(before: Snapshot, after: Snapshot) -> dict[str, tuple[list[str], list[str]]]:
    """Per kind: (only before, only after); empty when the schemas agree."""
    diff = {}
    for kind in CATALOG:
        gone = sorted(set(before[kind]) - set(after[kind]))
        new = sorted(set(after[kind]) - set(before[kind]))
        if gone or new:
            diff[kind] = (gone, new)
    return diff


@pytest.fixture
async def fresh(pg_url: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A new, empty database on the session's PostgreSQL (not the shared migrated one)."""
    url = database_url(pg_url, f"mig_{uuid.uuid4().hex[:10]}")
    await database.ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        yield url, conn
    finally:
        await conn.close()


async def test_every_migration_has_a_down_step_that_undoes_exactly_its_up(
        fresh: tuple[str, asyncpg.Connection]) -> None:
    _, conn = fresh
    steps = database.migrations()
    assert [m.version for m in steps if m.down is None] == []
    # Rows in the tables a down step reshapes, so those steps run over data, not empty tables.
    seed = {
        "0004_gateway": "INSERT INTO tenants (id, name) VALUES ('acme', 'Acme');"
                        " INSERT INTO agents (id, tenant_id, name) VALUES ('coder', 'acme', 'C')",
        "0017_slack_commands": "INSERT INTO thread_messages (tenant_id, channel, ts, thread_ts,"
                               " text) VALUES ('acme', 'C1', '1.0', '1.0', 'hello')",
    }
    before = await snapshot(conn)
    for m in steps:
        async with conn.transaction():
            await conn.execute(m.up)
        after = await snapshot(conn)
        assert m.down is not None
        async with conn.transaction():
            await conn.execute(m.down)
        assert difference(before, await snapshot(conn)) == {}, f"{m.version} down"
        async with conn.transaction():  # and up again, on the schema its down step left
            await conn.execute(m.up)
        assert difference(after, await snapshot(conn)) == {}, f"{m.version} up again"
        if m.version in seed:
            await conn.execute(seed[m.version])
        before = after
    assert await conn.fetchval("SELECT count(*) FROM thread_messages") == 1
    assert await conn.fetchval("SELECT count(*) FROM agents WHERE id = 'coder'") == 1


async def test_runner_goes_down_to_nothing_and_up_again(
        fresh: tuple[str, asyncpg.Connection]) -> None:
    _, conn = fresh
    empty = await snapshot(conn)
    versions = [m.version for m in database.migrations()]
    assert await database.migrate(conn) == versions
    full = await snapshot(conn)
    # A down file is not a migration: going up never runs one.
    assert not any(v.endswith(".down") for v in versions)

    undone = await database.rollback(conn, to="0010")
    assert undone == [v for v in reversed(versions) if int(v[:4]) > 10]
    assert await conn.fetchval("SELECT max(version) FROM schema_migrations") \
        == "0010_agents_per_tenant"
    assert "agents_pkey PRIMARY KEY (tenant_id, id)" in " ".join(
        (await snapshot(conn))["constraints"])
    assert await database.migrate(conn) == versions[10:]
    assert difference(full, await snapshot(conn)) == {}

    assert await database.rollback(conn, to=0) == list(reversed(versions))
    after = await snapshot(conn)
    assert difference(empty, after) == {}
    # Nothing of ours is left: no table (not even the bookkeeping), type, function or trigger.
    assert after["relations"] == after["types"] == after["functions"] == after["triggers"] == []
    assert await database.rollback(conn, to=0) == []  # nothing to undo is not an error
    assert await database.migrate(conn) == versions
    assert difference(full, await snapshot(conn)) == {}


async def test_rollback_refuses_a_version_it_cannot_undo_and_changes_nothing(
        fresh: tuple[str, asyncpg.Connection]) -> None:
    _, conn = fresh
    await database.migrate(conn)
    full = await snapshot(conn)
    await conn.execute("INSERT INTO schema_migrations (version) VALUES ('9999_from_a_newer_build')")
    with pytest.raises(database.MigrationError, match="no down step for 9999_from_a_newer_build"):
        await database.rollback(conn, to=0)
    with pytest.raises(database.MigrationError, match="not a migration number"):
        await database.rollback(conn, to="latest")
    assert difference(full, await snapshot(conn)) == {}
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(
        database.migrations()) + 1


async def _switchboard(*args: str) -> int:
    """The real ``switchboard`` command line, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(cli_main, list(args))


async def test_cli_migrate_down_to(fresh: tuple[str, asyncpg.Connection],
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    url, conn = fresh
    monkeypatch.setenv("DATABASE_URL", url)
    assert await _switchboard("migrate") == 0
    assert await _switchboard("migrate", "--down-to", "0019") == 0
    last = database.migrations()[-1].version
    assert f"rolled back: {last}" in capsys.readouterr().out
    assert await conn.fetchval("SELECT max(version) FROM schema_migrations") \
        == "0019_agent_memory"
    assert await conn.fetchval("SELECT to_regclass('sessions')") is None
    assert await _switchboard("migrate", "--down-to", "latest") == 1
    assert capsys.readouterr().err.strip() == ("switchboard migrate: rollback target 'latest' is"
                                               " not a migration number such as 0012")
