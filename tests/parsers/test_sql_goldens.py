"""Golden files: each ``goldens/sql/<dialect>/<case>.sql`` next to the ``.json`` it must give.

Regenerate with ``pytest tests/parsers/test_sql_goldens.py --update-goldens`` and review the diff.
A first line ``-- context: database=X schema=Y`` sets the defaults that qualify bare names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from parsers import NameContext
from parsers.sql import describe

GOLDENS = Path(__file__).resolve().parent.parent / "goldens" / "sql"
CASES = sorted(GOLDENS.glob("*/*.sql"))
CONTEXT = re.compile(r"--\s*context:\s*(.*)")


def _context(path: Path, text: str) -> NameContext:
    settings: dict[str, str] = {}
    for line in text.splitlines():
        match = CONTEXT.match(line)
        if match:
            settings = dict(pair.split("=", 1) for pair in match.group(1).split())
    dialect = None if path.parent.name == "generic" else path.parent.name
    return NameContext.of(dialect, database=settings.get("database"), schema=settings.get("schema"))


def _lineage(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    result = describe(text, _context(path, text), source_id=f"{path.parent.name}/{path.stem}")
    for statement in result["statements"]:
        del statement["fingerprint"]  # an implementation detail; asserted in test_statements
    return result


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_sql_golden(path: Path, update_goldens: bool) -> None:
    expected_path = path.with_suffix(".json")
    actual = _lineage(path)
    if update_goldens or not expected_path.exists():
        expected_path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if not update_goldens:
            pytest.fail(f"wrote missing golden {expected_path.name}: review it, then run again")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


def test_there_are_goldens_for_several_dialects() -> None:
    assert len({path.parent.name for path in CASES}) >= 6
    assert len(CASES) >= 20
