"""The SQLModel models (infra/models/) and the migrated database agree: no drift.

Checked on the session's real database, migrated by infra/migrations/: the same tables, and in
each the same columns with the same type (as PostgreSQL's ``format_type`` spells it), the same
nullability and the same primary key. A migration that adds a table or a column without its
model, or a model edited without a migration, fails here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import httpx
from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql.base import PGDialect

from infra.directory import tenants
from infra.models import METADATA, tables
from infra.models.directory import Tenant
from tests.conftest import TenantFactory

_DIALECT = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


@dataclass(frozen=True)
class Shape:
    """What must agree for one column."""

    type: str
    nullable: bool
    primary_key: bool


async def database_shapes(pool: asyncpg.Pool) -> dict[str, dict[str, Shape]]:
    """Every ordinary table of the public schema: column -> type, nullability, primary key."""
    rows = await pool.fetch("""
        SELECT c.relname AS table_name, a.attname AS column_name,
               format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
               EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
                       AND a.attnum = ANY (i.indkey)) AS primary_key
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')""")
    shapes: dict[str, dict[str, Shape]] = {}
    for r in rows:
        shapes.setdefault(r["table_name"], {})[r["column_name"]] = Shape(
            r["type"], r["nullable"], r["primary_key"])
    return shapes


def model_shapes(metadata: MetaData) -> dict[str, dict[str, Shape]]:
    """The same description, from the models' tables."""
    return {
        table.name: {col.name: Shape(col.type.compile(dialect=_DIALECT).lower(),
                                     bool(col.nullable), col.primary_key)
                     for col in table.columns}
        for table in metadata.tables.values()
    }


def drift(db: dict[str, dict[str, Shape]], models: dict[str, dict[str, Shape]]) -> list[str]:
    """Every difference, one line each."""
    found = [f"table {t}: in the database, no model" for t in sorted(db.keys() - models.keys())]
    found += [f"table {t}: a model, not in the database" for t in sorted(models.keys() - db.keys())]
    for table in sorted(db.keys() & models.keys()):
        have, want = db[table], models[table]
        found += [f"{table}.{c}: in the database, not in the model"
                  for c in sorted(have.keys() - want.keys())]
        found += [f"{table}.{c}: in the model, not in the database"
                  for c in sorted(want.keys() - have.keys())]
        for column in sorted(have.keys() & want.keys()):
            if have[column] != want[column]:
                found.append(f"{table}.{column}: database {have[column]}, model {want[column]}")
    return found


async def test_models_match_the_migrated_database(pool: asyncpg.Pool) -> None:
    db = await database_shapes(pool)
    models = model_shapes(METADATA)
    assert len(tables()) == len(METADATA.tables)  # every model is registered in infra.models
    assert not drift(db, models), "\n".join(drift(db, models))
    assert {"tenants", "agents", "inbox", "events", "context_chunks"} <= models.keys()
    assert models["context_chunks"]["embedding"].type == "vector(384)"
    assert models["agents"]["tenant_id"].primary_key and models["agents"]["id"].primary_key


async def test_drift_is_reported(pool: asyncpg.Pool) -> None:
    """A model that differs from its table in each way is caught, column by column."""
    db = await database_shapes(pool)
    wrong = MetaData()
    Table("aliases", wrong,
          Column("tenant_id", Text, primary_key=True),
          Column("name", Integer, primary_key=True),  # the database says text
          Column("members", Text, nullable=True),  # text[] NOT NULL there
          Column("colour", Text))  # no such column
    Table("no_such_table", wrong, Column("id", Integer, primary_key=True))
    found = drift({"aliases": db["aliases"]}, model_shapes(wrong))
    assert found == [
        "table no_such_table: a model, not in the database",
        "aliases.colour: in the model, not in the database",
        "aliases.members: database Shape(type='text[]', nullable=False, primary_key=False), "
        "model Shape(type='text', nullable=True, primary_key=False)",
        "aliases.name: database Shape(type='text', nullable=False, primary_key=True), "
        "model Shape(type='integer', nullable=False, primary_key=True)",
    ]


async def test_tenant_rows_go_through_the_model(pool: asyncpg.Pool) -> None:
    """The tenant store writes and reads typed rows built from the model, on the asyncpg pool."""
    tenant_id = f"m-{uuid.uuid4().hex[:10]}"
    before = await pool.fetchval("SELECT now()")
    created = await tenants.create_tenant(pool, tenant_id, "Models", ["a1"])
    assert isinstance(created, Tenant)
    assert (created.slack_commands, created.retention, created.admin_channel) == (
        ["/switchboard"], {}, None)  # the model's defaults, as the table's
    assert created.created_at >= before  # the database's clock, not the process'
    assert await tenants.create_tenant(pool, tenant_id, "Again", []) is None
    changed = await tenants.update_tenant(pool, tenant_id, {"retention": {"inbox": 7},
                                                            "admin_channel": "C0123"})
    assert changed is not None and changed.retention == {"inbox": 7}
    assert await pool.fetchval("SELECT retention FROM tenants WHERE id = $1", tenant_id) == {
        "inbox": 7}
    assert await tenants.get_tenant(pool, tenant_id) == changed
    assert tenant_id in [t.id for t in await tenants.list_tenants(pool)]
    assert await tenants.get_tenant(pool, "no-such-tenant") is None


async def test_identity_links_through_the_admin_api(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    """Identity links, read and written through the IdentityLink model: link, relink, list,
    unlink, and 404 for what is gone."""
    tenant = await make_tenant(agents=("a1", "a2"))
    base = f"/admin/tenants/{tenant}"
    for agent in ("a1", "a2"):  # the second PUT moves the account to a2 (upsert)
        r = await http.put(f"{base}/agents/{agent}/identities/slack/U123", headers=admin)
        assert r.status_code == 204, r.text
    r = await http.put(f"{base}/agents/a1/identities/github/octocat", headers=admin)
    assert r.status_code == 204, r.text
    r = await http.get(f"{base}/identities", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == [{"provider": "github", "external_id": "octocat", "agent_id": "a1"},
                        {"provider": "slack", "external_id": "U123", "agent_id": "a2"}]
    r = await http.delete(f"{base}/identities/slack/U123", headers=admin)
    assert r.status_code == 204, r.text
    r = await http.delete(f"{base}/identities/slack/U123", headers=admin)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_identity")
    r = await http.get(f"{base}/identities", headers=admin)
    assert [i["external_id"] for i in r.json()] == ["octocat"]
