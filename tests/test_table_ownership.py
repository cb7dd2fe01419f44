"""Each table has one owner: only its module writes it (INSERT INTO, UPDATE, DELETE FROM).

The issue this keeps closed: agents' status was written from four places with four sets of rules.
Every SQL string literal in the application's packages is read (docstrings excepted); a write to
a table from any module but its owner fails, and so does a table in the migrations without an
owner, so a new table has to be given one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from infra import models

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "activities", "infra", "workers", "workflows", "cli")

OWNERS = {
    "tenants": "infra/directory/tenants.py",
    "integrations": "infra/directory/tenants.py",
    "agents": "infra/directory/agents.py",
    "aliases": "infra/directory/aliases.py",
    "projects": "infra/directory/projects.py",
    "project_mappings": "infra/directory/projects.py",
    "identity_links": "infra/directory/projects.py",
    "mirror_pairs": "infra/directory/projects.py",
    "mirror_threads": "infra/mirror/store.py",
    "mirror_messages": "infra/mirror/store.py",
    "inbox": "infra/inbox/store.py",
    "events": "infra/inbox/store.py",
    "grants": "infra/gateway/store.py",
    "approvals": "infra/approvals/store.py",
    "gateway_calls": "infra/gateway/store.py",
    "audit": "infra/gateway/store.py",
    "activity_log": "infra/audit/log.py",
    "usage": "infra/governance/usage.py",
    "alerts": "infra/governance/alerts.py",
    "breaker_log": "infra/governance/limits.py",
    "tenant_limits": "infra/governance/tenant_limits.py",
    "tenant_quotas": "infra/governance/quotas.py",
    "quota_windows": "infra/governance/quotas.py",
    "control_state": "infra/governance/kill_switch.py",
    "context_documents": "infra/context/documents.py",
    "context_chunks": "infra/context/documents.py",
    "thread_messages": "infra/context/threads.py",
    "agent_memory": "infra/memory/store.py",
    "sessions": "infra/sessions/store.py",
    "session_turns": "infra/sessions/store.py",
    "secrets": "infra/vault/embedded.py",
    "signing_keys": "infra/auth/tokens.py",
    "revoked_tokens": "infra/auth/tokens.py",
    "users": "infra/users/store.py",
    "tenant_members": "infra/users/store.py",
    "user_sessions": "infra/users/sessions.py",
    "refresh_tokens": "infra/users/sessions.py",
}

# (table, module) writes not yet moved to the owner. Each entry must still be found (a stale one
# fails), so the list only shrinks; it is empty now.
PENDING: set[tuple[str, str]] = set()

WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)


def _tables() -> set[str]:
    sql = " ".join(p.read_text() for p in (ROOT / "infra" / "migrations").glob("*.sql"))
    found = re.findall(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", sql, re.IGNORECASE)
    return {t.lower() for t in found}


def _sql_strings(tree: ast.Module) -> list[tuple[str, int]]:
    """String literals (f-string pieces included), leaving out docstrings and bare strings."""
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [(node.value, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in bare]


def _model_writes(tree: ast.Module) -> list[tuple[str, int]]:
    """(table, line) of statements built from a SQLModel model (infra/models/):
    ``insert(Model)``, ``update(Model)``, ``delete(Model)``, the model imported under any name."""
    by_class = {model.__name__: table for table, model in models.tables().items()}
    names = {alias.asname or alias.name: by_class[alias.name]
             for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("infra.models")
             for alias in node.names if alias.name in by_class}
    return [(names[arg.id], node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("insert", "update", "delete")
            for arg in node.args[:1] if isinstance(arg, ast.Name) and arg.id in names]


def writes() -> set[tuple[str, str, int]]:
    """(table, module, line) of every write to a known table in the application's code."""
    tables = _tables()
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(), str(path))
            for text, line in _sql_strings(tree):
                for table in WRITE.findall(text):
                    if table.lower() in tables:
                        found.add((table.lower(), module, line))
            found |= {(table, module, line) for table, line in _model_writes(tree)}
    return found


def test_writes_through_models_are_seen() -> None:
    """The tenant store writes tenants with statements built from the model, not SQL text: the
    rule above still sees them (its insert and its update)."""
    store = ROOT / "infra" / "directory" / "tenants.py"
    seen = [table for table, _ in _model_writes(ast.parse(store.read_text()))]
    assert seen == ["tenants", "tenants"]
    assert ("tenants", "infra/directory/tenants.py") in {(t, m) for t, m, _ in writes()}


def test_every_table_has_an_owner() -> None:
    assert sorted(_tables() - set(OWNERS)) == []
    assert sorted(set(OWNERS) - _tables()) == []


@pytest.mark.parametrize("owner", sorted(set(OWNERS.values())))
def test_owner_module_exists(owner: str) -> None:
    assert (ROOT / owner).is_file(), owner


def test_only_the_owner_writes_a_table() -> None:
    strays = sorted(f"{module}:{line} writes {table} (owner: {OWNERS[table]})"
                    for table, module, line in writes()
                    if module != OWNERS[table] and (table, module) not in PENDING)
    assert strays == []


def test_pending_entries_are_not_stale() -> None:
    found = {(table, module) for table, module, _ in writes()}
    assert sorted(PENDING - found) == []
