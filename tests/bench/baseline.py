"""The bare baseline: same framework, server and pool as the API, but only insert-and-202."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from fastapi import FastAPI, Request, Response

from infra import database
from infra.settings import Settings

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_bare ("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id text NOT NULL,"
    " body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)


def create_baseline_app(settings: Settings) -> FastAPI:
    """A FastAPI app with one route, ``POST /bare/{tenant}``: read the body, INSERT it, 202."""
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database.url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set")
        pool = await database.create_pool(
            url, min_size=settings.database.pool_min, max_size=settings.database.pool_max
        )
        await pool.execute(TABLE_DDL)
        pools.append(pool)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="bench baseline", lifespan=lifespan)

    @app.post("/bare/{tenant}", status_code=202)
    async def bare(tenant: str, request: Request) -> Response:
        """Store the raw body and acknowledge it."""
        body = await request.body()
        await pools[0].execute(
            "INSERT INTO bench_bare (tenant_id, body) VALUES ($1, $2)", tenant, body
        )
        return Response(status_code=202)

    return app
