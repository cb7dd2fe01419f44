"""Import directions, by rule: each layer imports only the layers beneath it.

From the bottom: ``infra/`` (settings, stores, services such as the gateway) and
``workflows/`` contracts; ``activities/`` (thin Temporal doors into infra); ``workers/`` (which
register activities and workflows) and ``api/`` (the HTTP and socket doors, which call infra, never
an activity); ``cli/`` on top, the only code that starts api/ or workers/. Workflows reach
activities only inside ``imports_passed_through()``, checked in tests/test_workflow_rules.py.
Tests may import anything.

What the API and the platform worker share (the gateway, the knowledge store, the token service,
the secret store) is built in one place, the composition root ``infra/services.py``: no other
module of those processes constructs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "workflows", "activities", "workers", "api", "cli")

# The only packages that may import each upper package (a package may always import itself).
IMPORTED_ONLY_BY: dict[str, set[str]] = {
    "activities": {"workers", "workflows", "cli"},
    "workers": {"cli"},
    "api": {"cli"},
    "cli": set(),
}
# (importing module, imported package) -> why this one module may break the rule. Keep it empty.
EXCEPTIONS: dict[tuple[str, str], str] = {}

MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))

COMPOSITION_ROOT = "infra.services"
# Built only in the composition root, by the code of the API and the platform worker (cli/'s
# one-shot commands, such as ``switchboard secrets``, build what they need themselves).
SHARED_SERVICES = {"Gateway", "KnowledgeStore", "TokenService", "build_secret_store",
                   "build_embedder"}


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _calls(path: Path) -> list[tuple[str, int]]:
    """Every ``f(...)`` or ``x.f(...)`` in ``path``, by the called name ``f``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            if name is not None:
                found.append((name, node.lineno))
    return found


def _imported(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports (function-level and TYPE_CHECKING imports included)."""
    package = _name(path).split(".")[:-1] if path.name != "__init__.py" else _name(path).split(".")
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            found.append((".".join([*base, *([node.module] if node.module else [])]), node.lineno))
    return found


def _breaks(path: Path) -> list[str]:
    """The imports of ``path`` that go against IMPORTED_ONLY_BY, not named in EXCEPTIONS."""
    name = _name(path)
    layer = name.split(".")[0]
    bad = []
    for module, line in _imported(path):
        target = module.split(".")[0]
        if (target in IMPORTED_ONLY_BY and target != layer
                and layer not in IMPORTED_ONLY_BY[target] and (name, target) not in EXCEPTIONS):
            bad.append(f"{module} (line {line})")
    return bad


PROCESS_MODULES = [p for p in MODULES if _name(p).split(".")[0] in
                   ("infra", "activities", "workers", "api") and _name(p) != COMPOSITION_ROOT]


def test_there_are_modules_in_every_layer() -> None:
    assert {_name(p).split(".")[0] for p in MODULES} == set(PACKAGES)


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_imports_only_layers_beneath_it(path: Path) -> None:
    bad = _breaks(path)
    layer = _name(path).split(".")[0]
    allowed = [t for t, importers in IMPORTED_ONLY_BY.items() if layer in importers]
    assert not bad, (f"{_name(path)} imports {bad}: of {'/, '.join(IMPORTED_ONLY_BY)}/, "
                     f"{layer}/ may import {'/, '.join(allowed) + '/' if allowed else 'none'}")


def test_every_exception_is_still_needed() -> None:
    stale = [(module, target) for module, target in EXCEPTIONS
             if not any(m.split(".")[0] == target
                        for m, _ in _imported(ROOT / (module.replace(".", "/") + ".py")))]
    assert not stale, f"drop these from EXCEPTIONS: {stale}"


@pytest.mark.parametrize("path", PROCESS_MODULES, ids=_name)
def test_shared_services_are_built_only_in_the_composition_root(path: Path) -> None:
    built = [f"{name}( (line {line})" for name, line in _calls(path) if name in SHARED_SERVICES]
    assert not built, (f"{_name(path)} builds {built}: take it from {COMPOSITION_ROOT} "
                       "(build_services), so the API and the platform worker build it one way")


@pytest.mark.parametrize("module", ["api.app", "workers.platform"])
def test_each_process_builds_its_services_through_the_composition_root(module: str) -> None:
    path = ROOT / (module.replace(".", "/") + ".py")
    assert "build_services" in {name for name, _ in _calls(path)}, (
        f"{module} must build its shared services with {COMPOSITION_ROOT}.build_services")
