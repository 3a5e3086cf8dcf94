"""Where the benchmarks keep what they measured: one JSON file each in ``bench/results/`` (which
git ignores), which the README's tables are read from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def write_results(name: str, doc: Any) -> Path:
    """``doc`` as JSON (keys sorted) in ``bench/results/<name>``, and a line saying so."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / name
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return out
