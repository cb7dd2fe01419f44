"""Statements built from the models, run on the process' asyncpg pool: typed rows in and out.

SQLAlchemy Core builds the SQL from a model's table (so a renamed column breaks at import or in
the drift test, not at run time); it is compiled for asyncpg's ``$n`` placeholders and run on the
same pool as everything else, so there is one driver and one pool per process. Each row comes
back validated as the model.
"""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy


def compiled(statement: ClauseElement) -> tuple[str, list[Any]]:
    """The statement's SQL for asyncpg and its arguments in placeholder order."""
    done = statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    assert isinstance(done, SQLCompiler)  # a statement, not a DDL element
    return done.string, [done.params[name] for name in done.positiontup or ()]


async def rows(pool: asyncpg.Pool, statement: ClauseElement, model: type[M]) -> list[M]:
    """Every row the statement returns, as ``model``."""
    sql, args = compiled(statement)
    return [model.model_validate(dict(r)) for r in await pool.fetch(sql, *args)]


async def row(pool: asyncpg.Pool, statement: ClauseElement, model: type[M]) -> M | None:
    """The statement's first row as ``model``, or None."""
    sql, args = compiled(statement)
    found = await pool.fetchrow(sql, *args)
    return model.model_validate(dict(found)) if found is not None else None


async def execute(pool: asyncpg.Pool, statement: ClauseElement) -> str:
    """Run a statement that returns no rows; PostgreSQL's status (``"DELETE 1"``)."""
    sql, args = compiled(statement)
    status: str = await pool.execute(sql, *args)
    return status
