"""Committed fixtures are what their scripts make: regenerate and compare."""

from __future__ import annotations

import random
import runpy
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def test_the_demo_trace_is_what_make_trace_writes() -> None:
    script = runpy.run_path(str(DEMO / "make_trace.py"))
    expected = "\n".join(script["lines"](random.Random(7))) + "\n"
    assert (DEMO / "traces" / "query_trace.jsonl").read_text(encoding="utf-8") == expected


def test_the_warehouse_exports_are_what_make_exports_writes(tmp_path: Path) -> None:
    folder = DEMO.parent / "warehouses"
    script = runpy.run_path(str(folder / "make_exports.py"))
    script["HERE"] = tmp_path
    for name in ("snowflake", "snowflake_access", "bigquery", "redshift", "databricks"):
        function = script[name]
        function.__globals__["HERE"] = tmp_path
        function()
    for written in tmp_path.iterdir():
        assert written.read_bytes() == (folder / written.name).read_bytes(), written.name
    committed = {path.name for path in folder.iterdir() if path.suffix != ".py"}
    assert {path.name for path in tmp_path.iterdir()} == committed, "every committed export is made by the script"
