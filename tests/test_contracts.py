"""Temporal names are spelled once (STYLE habit 12), checked on the source like the workflow rules.

Platform activities are referenced by method; activities implemented in another process take
their name from ``workflows/names.py``; ``ApplicationError`` types come from
``workflows/errors.py`` and every type a retry policy names is raised somewhere; queue names are
spelled only as defaults in ``infra/settings.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from infra.settings import GatewaySettings, TemporalSettings
from workflows.errors import ErrorType
from workflows.names import CROSS_PROCESS_ACTIVITIES

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted(p for d in ("activities", "api", "infra", "workers", "workflows")
              for p in (ROOT / d).rglob("*.py"))
WORKFLOW_MODULES = sorted((ROOT / "workflows").glob("*.py"))
# By name (only activities of other processes); each has an ``_method`` form taking Class.method.
BY_NAME = ("execute_activity", "start_activity", "execute_local_activity",
           "start_local_activity")
NAMES_MODULE = "workflows.names"
# Pending: workflow modules still naming a platform activity by a string (none now).
PENDING_STRING_NAMES: set[str] = set()
# Pending: files still spelling a queue's name outside infra/settings.py (none now).
PENDING_QUEUE_SPELLINGS: set[str] = set()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _calls(tree: ast.AST, name: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == name:
                yield node


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _error_types(node: ast.expr) -> set[str]:
    """The error types an expression can be: catalogue members and string literals in it."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                and sub.value.id == "ErrorType"):
            found.add(ErrorType[sub.attr].value)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found.add(sub.value)
    return found


def _raised() -> dict[str, list[str]]:
    """Every error type given to an ``ApplicationError`` in our code, with where."""
    raised: dict[str, list[str]] = {}
    for path in CODE:
        for call in _calls(_tree(path), "ApplicationError"):
            kind = _keyword(call, "type")
            for name in _error_types(kind) if kind is not None else set():
                raised.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{call.lineno}")
    return raised


def _policy_types() -> set[str]:
    named: set[str] = set()
    for call in _calls(_tree(ROOT / "workflows" / "policies.py"), "RetryPolicy"):
        types = _keyword(call, "non_retryable_error_types")
        if types is not None:
            named |= _error_types(types)
    return named


def test_every_error_type_a_retry_policy_names_is_raised_somewhere() -> None:
    named = _policy_types()
    assert named, "the policies name no error type: the scan is broken"
    assert not named - _raised().keys(), (
        f"retry policies name error types nothing raises: {sorted(named - _raised().keys())}")


def test_every_catalogued_error_type_is_raised_and_nothing_else_is() -> None:
    raised = _raised()
    assert set(raised) == {t.value for t in ErrorType}, (
        f"raised but not catalogued: {sorted(set(raised) - set(ErrorType))}; "
        f"catalogued but never raised: {sorted(set(ErrorType) - set(raised))}")


def test_application_error_types_come_from_the_catalogue() -> None:
    literal = [f"{path.relative_to(ROOT)}:{call.lineno}" for path in CODE
               for call in _calls(_tree(path), "ApplicationError")
               for kind in [_keyword(call, "type")]
               if kind is not None and any(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                           for n in ast.walk(kind))]
    assert not literal, f"error types spelled as strings (use workflows.errors): {literal}"


def _names_imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names imported from workflows.names, and aliases of the module itself."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == NAMES_MODULE:
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "workflows":
            modules |= {a.asname or a.name for a in node.names if a.name == "names"}
    return names, modules


def test_no_workflow_names_an_activity_by_a_string() -> None:
    bad = []
    for path in WORKFLOW_MODULES:
        if path.name in PENDING_STRING_NAMES:
            continue
        tree = _tree(path)
        names, modules = _names_imports(tree)
        for call in (c for name in BY_NAME for c in _calls(tree, name)):
            arg = call.args[0] if call.args else _keyword(call, "activity")
            shared = ((isinstance(arg, ast.Name) and arg.id in names)
                      or (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                          and arg.value.id in modules))
            if not shared:
                bad.append(f"{path.name}:{call.lineno} {ast.unparse(arg) if arg else '?'}")
        for call in (c for name in BY_NAME for c in _calls(tree, f"{name}_method")):
            arg = call.args[0] if call.args else _keyword(call, "activity")
            if not (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)):
                bad.append(f"{path.name}:{call.lineno} {ast.unparse(arg) if arg else '?'}")
    assert not bad, ("activities named by a string: use execute_activity_method(X.method) for "
                     f"platform activities, workflows.names for the others: {bad}")


def test_activities_of_other_processes_take_their_name_from_one_module() -> None:
    bad = [f"{path.relative_to(ROOT)}:{call.lineno}"
           for path in [*CODE, *sorted((ROOT / "tests").rglob("*.py"))]
           if path != ROOT / "workflows" / "names.py"
           for call in _calls(_tree(path), "defn")
           for name in [_keyword(call, "name")]
           if isinstance(name, ast.Constant) and name.value in CROSS_PROCESS_ACTIVITIES]
    assert not bad, f"think/run_tool/gateway_execute spelled again (use workflows.names): {bad}"


def test_queue_names_are_spelled_only_in_settings() -> None:
    queues = {TemporalSettings.model_fields["task_queue"].default,
              TemporalSettings.model_fields["control_task_queue"].default,
              GatewaySettings.model_fields["task_queue"].default}
    bad = [f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
           for path in CODE
           if path != ROOT / "infra" / "settings.py"
           and str(path.relative_to(ROOT)) not in PENDING_QUEUE_SPELLINGS
           for node in ast.walk(_tree(path))
           if isinstance(node, ast.Constant) and node.value in queues]
    assert not bad, f"queue names spelled outside infra/settings.py: {bad}"
