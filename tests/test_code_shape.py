"""The package stays readable top-down (#11): no function over 40 lines, no module over 300.

Counted as a reader sees them: a function from its `def` to its last line, docstring and
comments included; a module by its lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ztbulk"
MAX_FUNCTION_LINES = 40
MAX_MODULE_LINES = 300


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function in `source` longer than the limit."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append((node.name, lines))
    return found


def test_the_limit_is_measured_as_a_reader_counts() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions("def g():\n    return 1\n") == []


def test_no_function_is_over_40_lines() -> None:
    assert _modules(), SRC
    found = {
        f"{path.relative_to(SRC)}:{name}": lines
        for path in _modules()
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    }
    assert found == {}


def test_no_module_is_over_300_lines() -> None:
    found = {
        str(path.relative_to(SRC)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert found == {}
