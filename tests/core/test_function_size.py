"""Small functions: none of the code's functions or methods reaches 80 lines (STYLE.md, 7).

A function is measured from its ``def`` line (decorators not counted) to its last line,
docstring, comments and nested functions included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FOLDERS = ("aaas", "broker", "link", "user_agent", "edge_node", "orchestrator", "monitoring",
           "testbed", "scripts", "tests")
"""The packages, scripts/ and tests/ (a folder that does not exist is skipped)."""

MAX_LINES = 80
"""A function of this many lines or more is too long."""


def _functions(path: Path) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function in *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                yield name, child.lineno, end - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def _sources() -> Iterator[Path]:
    for folder in FOLDERS:
        if (ROOT / folder).is_dir():
            yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_walk_finds_the_code() -> None:
    files = list(_sources())
    assert any(p.name == "demo.py" and p.parent.name == "testbed" for p in files)
    assert any(p == Path(__file__).resolve() for p in files)
    names = {name for name, _, _ in _functions(Path(__file__))}
    assert "_functions.walk" in names


def test_no_function_reaches_80_lines() -> None:
    long = [f"{path.relative_to(ROOT)}:{line} {name} ({n} lines)"
            for path in _sources() for name, line, n in _functions(path) if n >= MAX_LINES]
    assert not long, (f"{len(long)} function(s) of {MAX_LINES} lines or more; split them "
                      "(STYLE.md, Size):\n  " + "\n  ".join(long))
