"""Workflow modules stay deterministic by rule: the platform worker runs them without the
SDK sandbox for speed, so these checks (with the replay tests) are what keeps them honest.

STYLE habit 1: workflow modules import only temporalio, our contracts/ids/policies/search and
activity references; no I/O, no settings, no clock, no randomness.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
MODULES = sorted(p for p in WORKFLOWS.rglob("*.py") if p.name != "__init__.py")
ALLOWED_IMPORTS = ("__future__", "asyncio", "datetime", "enum", "typing", "collections.abc",
                   "temporalio", "pydantic", "workflows", "activities")
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "sleep",
                   "uuid1", "uuid4", "random", "randint", "choice", "shuffle", "urandom", "open",
                   "getenv", "system", "Popen", "run"}
FORBIDDEN_NAMES = {"os", "random", "uuid", "time", "socket", "subprocess", "infra", "httpx",
                   "asyncpg"}


def _imports(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
    return found


def _activity_imports(tree: ast.Module) -> set[int]:
    """Lines of imports inside ``workflow.unsafe.imports_passed_through()`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and "imports_passed_through" in ast.unparse(node.items[0]):
            lines |= {n.lineno for n in ast.walk(node)
                      if isinstance(n, ast.Import | ast.ImportFrom)}
    return lines


def test_there_are_workflow_modules_to_check() -> None:
    assert {p.name for p in MODULES} >= {"event.py", "agent_run.py", "policies.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_workflow_module_imports_only_deterministic_things(path: Path) -> None:
    tree = ast.parse(path.read_text())
    passed_through = _activity_imports(tree)
    bad = [f"{name} (line {line})" for name, line in _imports(tree)
           if not name.startswith(ALLOWED_IMPORTS)
           or (name.startswith("activities") and line not in passed_through)]
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_workflow_module_calls_no_clock_randomness_or_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
            if name in FORBIDDEN_CALLS and not owner.startswith("workflow"):
                bad.append(f"{ast.unparse(func)} (line {node.lineno})")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            bad.append(f"{node.id} (line {node.lineno})")
    assert not bad, f"{path.name} uses {bad}; use workflow.now(), workflow.uuid4(), activities"
