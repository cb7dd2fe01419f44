"""Real English text that ships with the interpreter: the standard library's docstrings.

Paragraphs of 12 to 80 words, mostly prose (letters and spaces), deduplicated, in a fixed
order, each with the top-level module it documents (its topic). About 5,500 on CPython 3.11.
"""

from __future__ import annotations

import ast
import functools
import re
import sysconfig
from pathlib import Path

SKIP = {"test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "__pycache__"}


@functools.cache
def stdlib_paragraphs() -> tuple[tuple[str, str], ...]:
    """(module, paragraph) pairs from the standard library's docstrings, in a stable order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not SKIP & set(p.relative_to(root).parts))
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        topic = path.relative_to(root).parts[0].removesuffix(".py")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                              | ast.AsyncFunctionDef):
                continue
            for para in re.split(r"\n\s*\n", ast.get_docstring(node) or ""):
                text = " ".join(para.split())
                if not 12 <= len(text.split()) <= 80 or text in seen:
                    continue
                if sum(c.isalpha() or c == " " for c in text) / len(text) < 0.85:
                    continue
                seen.add(text)
                found.append((topic, text))
    return tuple(found)
