"""Aliases: ``AI_Squad`` -> agent ids, where a member ``@Other`` nests another alias.

The pure expansion and cycle check, and the aliases table they are stored in.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class AliasRecord:
    """An alias's row: its name and members (agent ids, or ``@name`` for a nested alias)."""

    name: str
    members: list[str]


class AliasCycleError(ValueError):
    """An alias contains itself, directly or through other aliases."""


def expand_alias(aliases: dict[str, list[str]], name: str) -> list[str]:
    """Agent ids an alias stands for, in first-seen order (names compare case-insensitively)."""
    by_key = {k.lower(): v for k, v in aliases.items()}
    found: list[str] = []

    def walk(alias: str, path: tuple[str, ...]) -> None:
        key = alias.lower()
        if key in path:
            raise AliasCycleError(" -> ".join([*path, key]))
        for member in by_key.get(key, []):
            if member.startswith("@"):
                walk(member[1:], (*path, key))
            elif member not in found:
                found.append(member)

    walk(name, ())
    return found


def check_acyclic(aliases: dict[str, list[str]]) -> None:
    """Raise AliasCycleError if any alias reaches itself."""
    for name in aliases:
        expand_alias(aliases, name)


async def put_alias(
    pool: asyncpg.Pool, tenant_id: str, name: str, members: list[str]
) -> AliasRecord:
    """Create or replace an alias (names are unique case-insensitively)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM aliases WHERE tenant_id = $1 AND lower(name) = lower($2)", tenant_id, name
        )
        row = await conn.fetchrow(
            "INSERT INTO aliases (tenant_id, name, members) VALUES ($1, $2, $3)"
            " RETURNING name, members",
            tenant_id, name, members,
        )
    assert row is not None
    return AliasRecord(name=row["name"], members=list(row["members"]))


async def list_aliases(pool: asyncpg.Pool, tenant_id: str) -> list[AliasRecord]:
    """A tenant's aliases by name."""
    rows = await pool.fetch(
        "SELECT name, members FROM aliases WHERE tenant_id = $1 ORDER BY name", tenant_id
    )
    return [AliasRecord(name=r["name"], members=list(r["members"])) for r in rows]
