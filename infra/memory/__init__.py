"""Agent memory: per (tenant, agent) core facts and episodic summaries, recalled into each think
within a token budget (infra/memory/store.py is the one writer of ``agent_memory``)."""

from infra.memory.store import (
    KEY_PATTERN,
    MAX_VALUE_CHARS,
    MemoryRow,
    MemoryType,
    QueryEmbedder,
    UnknownAgent,
    add_episodic,
    delete_memory,
    list_memory,
    recall,
    set_core,
)

__all__ = [
    "KEY_PATTERN",
    "MAX_VALUE_CHARS",
    "MemoryRow",
    "MemoryType",
    "QueryEmbedder",
    "UnknownAgent",
    "add_episodic",
    "delete_memory",
    "list_memory",
    "recall",
    "set_core",
]
