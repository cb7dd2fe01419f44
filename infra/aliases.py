"""Alias expansion: ``AI_Squad`` -> agent ids, where a member ``@Other`` nests another alias."""

from __future__ import annotations


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
