"""``switchboard context search``: a tenant's memory from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from infra.settings import Settings


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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard context search``."""
    ctx = sub.add_parser("context", help="the context engine")
    ctx_sub = ctx.add_subparsers(dest="context_command", required=True)
    search = ctx_sub.add_parser("search", help="search a tenant's memory")
    search.add_argument("--tenant", required=True)
    search.add_argument("-k", type=int, default=5, help="results (default 5)")
    search.add_argument("query")
    search.set_defaults(func=cmd_context_search)
