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
