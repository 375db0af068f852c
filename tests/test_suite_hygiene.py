"""The suite itself: every test it defines runs."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_module_defines_a_test_twice():
    """A second ``def test_x`` in one module replaces the first, which then never runs (one such
    shadowed test had gone stale without anyone seeing it)."""
    modules = sorted(ROOT.glob("tests/test_*.py")) + sorted(ROOT.glob("benchmarks/test_*.py"))
    assert len(modules) > 40
    twice = {}
    for path in modules:
        tree = ast.parse(path.read_text())
        names = Counter(node.name for node in tree.body
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"))
        names.update(f"{cls.name}.{node.name}" for cls in tree.body if isinstance(cls, ast.ClassDef)
                     for node in cls.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test"))
        dup = sorted(n for n, k in names.items() if k > 1)
        if dup:
            twice[path.name] = dup
    assert twice == {}
