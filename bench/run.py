"""Benchmarks, run by `make bench`: each compares us with bare sqlglot and the peer tools on the
same input, in one run, and prints ratios. Results also go to bench/results/ as JSON.

    python bench/run.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import peers
import sqlglot
from outputs import write_results

from parsers import NameContext
from parsers.sql import TemplateCache, analyze
from parsers.sql.statements import split

ROOT = Path(__file__).resolve().parent.parent


def corpus() -> list[tuple[str, str]]:
    """(dialect, statement) pairs: the demo ELT, the demo trace's templates and the goldens."""
    pairs: list[tuple[str, str]] = []
    texts = [("postgres", (ROOT / "fixtures/demo/elt/nightly_credit_elt.sql").read_text(encoding="utf-8"))]
    for path in sorted((ROOT / "tests/goldens/sql").glob("*/*.sql")):
        dialect = "" if path.parent.name == "generic" else path.parent.name
        texts.append((dialect, path.read_text(encoding="utf-8")))
    for line in (ROOT / "fixtures/demo/traces/query_trace.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            texts.append(("postgres", json.loads(line)["query_text"]))
        except (ValueError, KeyError):
            continue
    for dialect, text in texts:
        for statement in split(text, dialect or None):
            if statement.tokens:
                pairs.append((dialect, statement.text))
    unique = {(d, s) for d, s in pairs}
    return sorted(unique)


def timed(function: Callable[[], Any], repeat: int) -> float:
    """Best-of-N wall time in seconds (the least disturbed run)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_sqlglot(statements: Sequence[tuple[str, str]]) -> None:
    for dialect, sql in statements:
        try:
            sqlglot.parse(sql, read=dialect or None)
        except sqlglot.errors.SqlglotError:
            pass


def ours(statements: Sequence[tuple[str, str]], cache: TemplateCache | None = None) -> None:
    for dialect, sql in statements:
        analyze(sql, NameContext.of(dialect or None), cache or TemplateCache())


def sqllineage_tables(statements: Sequence[tuple[str, str]]) -> None:
    for dialect, sql in statements:
        peers.sqllineage_tables(sql, dialect)


def openlineage_tables(statements: Sequence[tuple[str, str]]) -> None:
    for dialect, sql in statements:
        peers.openlineage_tables(sql, dialect)


def table_level(repeat: int) -> dict[str, Any]:
    statements = corpus()
    results: dict[str, Any] = {"statements": len(statements)}
    results["sqlglot_parse_s"] = timed(lambda: bare_sqlglot(statements), repeat)
    results["ours_cold_s"] = timed(lambda: ours(statements), repeat)
    log = statements * 20  # a query log repeats its templates
    warm = TemplateCache()
    results["log_statements"] = len(log)
    results["sqlglot_parse_log_s"] = timed(lambda: bare_sqlglot(log), 1)
    results["ours_log_s"] = timed(lambda: ours(log, warm), 1)
    for name, runner in (("sqllineage", sqllineage_tables), ("openlineage_sql", openlineage_tables)):
        try:
            runner([("postgres", "SELECT a FROM b")])  # the first call loads the peer's grammar: not timed
            results[f"{name}_s"] = timed(lambda runner=runner: runner(statements), max(1, repeat // 3))
        except ImportError:
            results[f"{name}_s"] = None
    return results


def report(results: dict[str, Any]) -> str:
    base = results["sqlglot_parse_s"]
    lines = [
        f"Table-level lineage, {results['statements']} distinct statements (demo ELT, demo trace, goldens)",
        f"  {'tool':<34}{'seconds':>10}{'stmts/s':>10}{'vs sqlglot.parse':>18}",
    ]

    def row(name: str, seconds: float | None, count: int, versus: float) -> None:
        if seconds is None:
            lines.append(f"  {name:<34}{'not installed':>10}")
            return
        lines.append(f"  {name:<34}{seconds:>10.4f}{count / seconds:>10.0f}{versus / seconds:>17.2f}x")

    count = results["statements"]
    row("sqlglot.parse (bare)", base, count, base)
    row("lineage-crawler, no cache", results["ours_cold_s"], count, base)
    row("sqllineage", results.get("sqllineage_s"), count, base)
    row("openlineage-sql", results.get("openlineage_sql_s"), count, base)
    log = results["log_statements"]
    lines.append(f"Same statements as a query log ({log} statements, each template 20 times)")
    row("sqlglot.parse (bare)", results["sqlglot_parse_log_s"], log, results["sqlglot_parse_log_s"])
    row("lineage-crawler, template cache", results["ours_log_s"], log, results["sqlglot_parse_log_s"])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    args = parser.parse_args(argv)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")  # the peers warn on every statement they skip
    results = {"python": platform.python_version(), "sqlglot": sqlglot.__version__,
               "table_level": table_level(args.repeat)}
    print(report(results["table_level"]))
    print(f"\nbest of {args.repeat} runs")
    write_results("table_level.json", results)


if __name__ == "__main__":
    main()
