"""Imports go one way (DESIGN.md): parsers <- crawler, parsers <- graph <- dashboard, and only
the CLI's `serve` may reach up into the dashboard."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "parsers": set(),
    "graph": {"parsers"},
    "crawler": {"parsers", "graph"},
    "dashboard": {"graph"},
}
EXCEPTIONS = {("crawler/cli.py", "dashboard")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_upward(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for imported in _imports(path) - ALLOWED[package] - {package}:
            if (relative, imported) not in EXCEPTIONS:
                offences.append(f"{relative} imports {imported}")
    assert offences == []


def test_the_check_sees_imports() -> None:
    assert _imports(ROOT / "crawler" / "cli.py") >= {"graph", "parsers", "dashboard", "crawler"}
