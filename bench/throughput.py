"""Throughput of SQL lineage on the TPC-H (22) and TPC-DS (99) queries, as DuckDB's tpch and
tpcds extensions ship them (the PyPI packages duckdb-extension-tpch/-tpcds, offline), and on a
synthetic query log made of them: us against bare ``sqlglot.parse``, sqlglot's own column lineage
and the peer tools, on the same statements in one run. Prints the ratios the project aims at and
writes bench/results/throughput.json.

    python bench/throughput.py [--repeat N] [--dialect D ...] [--log-copies K] [--sqllineage-sample N]

Every time is the median of its runs. The tools run in rounds, each once a round, and a ratio is
the median over rounds of the two tools' ratio in the same round: on a shared machine, a busy
neighbour then slows both sides of a ratio alike.
Column lineage, ours and sqlglot's, is given the suite's table schema (from DuckDB's own
``dbgen``/``dsdgen`` at scale 0): without one, unqualified columns over joins cannot be placed.
sqllineage, slow, is timed on an even sample of the statements, next to us and sqlglot.parse on the
same sample, statement by statement.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import importlib.metadata
import json
import logging
import math
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import peers
import sqlglot
from outputs import write_results
from rich.console import Console
from rich.table import Table
from sqlglot.dialects.dialect import Dialect
from sqlglot.lineage import lineage

from parsers import NameContext
from parsers.catalog import Catalog
from parsers.fingerprint import digest
from parsers.sql import TemplateCache, analyze
from parsers.sql.statements import LITERAL_TOKENS
from parsers.sql.tables import tables_in

SUITES = (("tpch", "duckdb_extension_tpch", "dbgen"), ("tpcds", "duckdb_extension_tpcds", "dsdgen"))
SQLLINEAGE_TIME_LIMIT = 60.0  # seconds for one statement; it has hung on some SQL

Schema = dict[str, dict[str, str]]


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    suite: str
    number: int
    sql: str
    schema: Schema  # the suite's tables: {table: {column: type}}


# -- The statements ---------------------------------------------------------------------------

def tpc_queries() -> list[Query]:
    """TPC-H and TPC-DS query texts and table schemas from DuckDB's extensions."""
    import duckdb

    queries = []
    for suite, package, generator in SUITES:
        connection = duckdb.connect()  # one each: both suites have a `customer` table
        connection.execute(f"LOAD '{_extension_file(package)}'")
        connection.execute(f"CALL {generator}(sf=0)")  # the empty tables, for their schema
        schema: Schema = {}
        for table, column, kind in connection.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "ORDER BY table_name, ordinal_position").fetchall():
            schema.setdefault(table, {})[column] = kind
        rows = connection.execute(f"SELECT query_nr, query FROM {suite}_queries() ORDER BY query_nr").fetchall()
        queries += [Query(suite=suite, number=number, sql=sql, schema=schema) for number, sql in rows]
        connection.close()
    return queries


def _extension_file(package: str) -> Path:
    """The packages ship the extension binary as package data: extensions/v<version>/<name>.duckdb_extension."""
    module = importlib.import_module(package)
    found = sorted(Path(next(iter(module.__path__))).glob("extensions/*/*.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no DuckDB extension file in the {package} package")
    return found[-1]


# A number standing alone; quoted text (strings, quoted names like "30 days") is matched first and kept.
_NUMBER = re.compile(r"""'(?:[^']|'')*'|"[^"]*"|(?<![\w.])(\d+)(?![\w.])""")


def query_log(queries: Sequence[Query], copies: int) -> list[tuple[Query, str]]:
    """A query log: every template ``copies`` times with other numbers in it, shuffled."""
    log = [(query, _NUMBER.sub(lambda m, c=copy: str(int(m[1]) + c) if m[1] else m[0], query.sql))
           for query in queries for copy in range(copies)]
    random.Random(0).shuffle(log)
    return log


def sqlglot_build() -> str:
    """sqlglotc overlays compiled modules onto sqlglot's own: a compiled parser means it is in."""
    compiled = not str(getattr(importlib.import_module("sqlglot.parser"), "__file__", ".py")).endswith(".py")
    if not compiled:
        return "pure Python"
    try:
        return f"compiled (sqlglotc {importlib.metadata.version('sqlglotc')})"
    except importlib.metadata.PackageNotFoundError:
        return "compiled"


# -- What is timed ----------------------------------------------------------------------------
# Each returns how many statements failed: a failure costs time too, and is reported.

def bare_parse(statements: Sequence[tuple[Query, str]], dialect: str) -> int:
    failed = 0
    for _, sql in statements:
        try:
            sqlglot.parse(sql, read=dialect)
        except sqlglot.errors.SqlglotError:
            failed += 1
    return failed


# sqlglot installs with its compiled build (sqlglotc) here; bare sqlglot.parse is also timed as
# `pip install sqlglot` alone gives it: the same version's pure-Python sources, copied without the
# compiled modules, in a worker process that times a whole round on request.
_PURE_WORKER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import sqlglot, sqlglot.parser
assert sqlglot.parser.__file__.endswith(".py"), sqlglot.parser.__file__
dialect, statements = sys.argv[2], json.loads(sys.stdin.readline())
def run():
    failed = 0
    for sql in statements:
        try:
            sqlglot.parse(sql, read=dialect)
        except sqlglot.errors.SqlglotError:
            failed += 1
    return failed
run()
print("ready", flush=True)
for _ in sys.stdin:
    print(run(), flush=True)
"""


class PurePythonParse:
    """``sqlglot.parse`` of the same version without its compiled build, in a worker process."""

    def __init__(self, statements: Sequence[tuple[Query, str]], dialect: str) -> None:
        self._folder = tempfile.mkdtemp(prefix="sqlglot-pure-")
        shutil.copytree(Path(sqlglot.__file__).parent, Path(self._folder) / "sqlglot",
                        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
        self._worker = subprocess.Popen([sys.executable, "-c", _PURE_WORKER, self._folder, dialect],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._ask(json.dumps([sql for _, sql in statements]))

    def _ask(self, line: str) -> str:
        assert self._worker.stdin is not None and self._worker.stdout is not None
        self._worker.stdin.write(line + "\n")
        self._worker.stdin.flush()
        return self._worker.stdout.readline().strip()

    def __call__(self) -> int:
        return int(self._ask("run"))

    def close(self) -> None:
        if self._worker.stdin is not None:
            self._worker.stdin.close()
        self._worker.wait(timeout=60)
        shutil.rmtree(self._folder, ignore_errors=True)


def ours(statements: Sequence[tuple[Query, str]], contexts: dict[str, NameContext], *, columns: bool,
         cache: TemplateCache | None = None) -> int:
    """Our analysis; without ``cache``, each statement gets a fresh one (no template is known)."""
    failed = 0
    for query, sql in statements:
        try:
            results = analyze(sql, contexts[query.suite], cache if cache is not None else TemplateCache(),
                              columns=columns)
        except Exception:  # noqa: BLE001  (counted: analyze should report bad input, never raise)
            failed += 1
            continue
        failed += any(result.issues for result in results)
    return failed


def least_work(statements: Sequence[tuple[Query, str]], dialect: str) -> int:
    """A bound, not a tool: the least any table level on sqlglot can do per statement, in Python.
    The parse, then two things the issue asks for and nothing else: the template's fingerprint
    (each token once: literals as ``?``, one digest) and one walk over the tree for its tables. No
    statement split, quick key, CTE scoping, roles, naming, time limit nor cache."""
    parser_dialect = Dialect.get_or_raise(dialect)
    failed = 0
    for _, sql in statements:
        try:
            tokens = parser_dialect.tokenize(sql)
            trees = parser_dialect.parser().parse(tokens, sql)
        except sqlglot.errors.SqlglotError:
            failed += 1
            continue
        digest(" ".join("?" if token.token_type in LITERAL_TOKENS else token.text.lower() for token in tokens))
        for tree in trees:
            if tree is not None:
                tables_in(tree)
    return failed


def lineage_loop(statements: Sequence[tuple[Query, str]], dialect: str, outputs: dict[str, list[str]]) -> int:
    """The baseline the issue names: ``sqlglot.lineage.lineage`` once per output column."""
    failed = 0
    for query, sql in statements:
        for column in outputs[sql]:
            try:
                lineage(column, sql, query.schema, dialect=dialect)
            except (sqlglot.errors.SqlglotError, KeyError, ValueError):
                failed += 1
    return failed


def lineage_all(statements: Sequence[tuple[Query, str]], dialect: str) -> int:
    """sqlglot's own every-column lineage in one call (``column=None``)."""
    failed = 0
    for query, sql in statements:
        try:
            lineage(None, sql, query.schema, dialect=dialect)
        except (sqlglot.errors.SqlglotError, KeyError, ValueError):
            failed += 1
    return failed


def output_columns(statements: Sequence[tuple[Query, str]], dialect: str) -> dict[str, list[str]]:
    """Each statement's output column names as sqlglot's lineage knows them (unaliased
    expressions get generated names), found once, outside the timings."""
    outputs = {}
    for query, sql in statements:
        try:
            outputs[sql] = list(lineage(None, sql, query.schema, dialect=dialect))
        except (sqlglot.errors.SqlglotError, KeyError, ValueError):
            outputs[sql] = []
    return outputs


def sqllineage_tables(statements: Sequence[tuple[Query, str]], dialect: str) -> int:
    failed = 0
    for _, sql in statements:
        with _time_limit(SQLLINEAGE_TIME_LIMIT):
            failed += not peers.sqllineage_tables(sql, dialect)
    return failed


def openlineage_tables(statements: Sequence[tuple[Query, str]], dialect: str) -> int:
    return sum(not peers.openlineage_tables(sql, dialect) for _, sql in statements)


class _TimeLimit(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expired(signum: int, frame: FrameType | None) -> None:
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- Measuring --------------------------------------------------------------------------------

@dataclasses.dataclass(slots=True, kw_only=True)
class Measure:
    """One tool on one workload: every run's seconds, statements covered, failures."""

    name: str
    statements: int
    runs: list[float] = dataclasses.field(default_factory=list)
    failed: int = 0

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"runs_s": [round(r, 5) for r in self.runs], "median_s": round(self.seconds, 5),
                "statements": self.statements, "failed": self.failed}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    name: str
    function: Callable[[], int]
    statements: int
    runs: int


def interleaved(tasks: Sequence[Task]) -> dict[str, Measure]:
    """Round after round, each task once a round while it has runs left: tools compared within a
    round saw the same load on a shared machine (see ``ratio``)."""
    measures = {t.name: Measure(name=t.name, statements=t.statements) for t in tasks}
    for round_ in range(max(t.runs for t in tasks)):
        for task in tasks:
            if round_ < task.runs:
                settle()
                start = time.perf_counter()
                measures[task.name].failed = task.function()
                measures[task.name].runs.append(time.perf_counter() - start)
    return measures


def settle() -> None:
    """Before a timed run: the garbage of the runs before it is collected, and what lives on (the
    statements, the peers' grammars) is set aside from the collector's scans. Otherwise whichever
    tool happens to trigger a full collection pays for every object the others left, and a tool's
    runs differed by up to 3x."""
    gc.collect()
    gc.freeze()


def contexts_for(queries: Sequence[Query], dialect: str, *, catalog: bool) -> dict[str, NameContext]:
    """A context per suite; with ``catalog``, the suite's tables go with it (column lineage)."""
    contexts = {}
    for query in queries:
        if query.suite not in contexts:
            context = NameContext.of(dialect)
            if catalog:
                context = dataclasses.replace(context, catalog=Catalog.from_mapping(query.schema, context))
            contexts[query.suite] = context
    return contexts


def cold(queries: Sequence[Query], dialect: str, repeat: int) -> dict[str, Measure]:
    """Every tool on each distinct statement, nothing cached between statements."""
    statements = [(query, query.sql) for query in queries]
    count = len(statements)
    tables, columns = contexts_for(queries, dialect, catalog=False), contexts_for(queries, dialect, catalog=True)
    outputs = output_columns(statements, dialect)
    slow = max(1, math.ceil(repeat / 2))
    _warm(statements[:3], dialect, tables, columns)
    pure = PurePythonParse(statements, dialect) if sqlglot_build() != "pure Python" else None
    tasks = [
        Task(name="sqlglot.parse", function=lambda: bare_parse(statements, dialect), statements=count, runs=repeat),
        Task(name="ours, tables", function=lambda: ours(statements, tables, columns=False), statements=count,
             runs=repeat),
        Task(name="ours, tables + columns", function=lambda: ours(statements, columns, columns=True),
             statements=count, runs=repeat),
        Task(name=LEAST, function=lambda: least_work(statements, dialect), statements=count, runs=repeat),
        Task(name="sqlglot lineage per column", function=lambda: lineage_loop(statements, dialect, outputs),
             statements=count, runs=slow),
        Task(name="sqlglot lineage, all columns", function=lambda: lineage_all(statements, dialect),
             statements=count, runs=slow),
        Task(name="openlineage-sql, tables", function=lambda: openlineage_tables(statements, dialect),
             statements=count, runs=repeat),
    ]
    if pure is not None:
        tasks.insert(1, Task(name=PURE, function=pure, statements=count, runs=repeat))
    try:
        return interleaved(tasks)
    finally:
        if pure is not None:
            pure.close()


def on_sample(queries: Sequence[Query], dialect: str, repeat: int, sample: int) -> dict[str, Measure]:
    """sqllineage against us (and the bare parse) on the same even sample of the statements, one
    statement at a time: each statement is parsed ``repeat`` times by sqlglot and by us (the median
    counts), then once by sqllineage, so the three saw the same moment of a shared machine. The
    ratio is between times on the same statements, not an extrapolation from a sample."""
    statements = [(query, query.sql) for query in queries]
    sampled = statements[::max(1, math.ceil(len(statements) / sample))] if sample else []
    if not sampled:
        return {}
    tables = contexts_for(queries, dialect, catalog=False)
    sqllineage_tables([(queries[0], "SELECT 1")], dialect)  # its first call loads sqlfluff's grammar
    tools: dict[str, tuple[Callable[[Sequence[tuple[Query, str]]], int], int]] = {
        "sqlglot.parse": (lambda one: bare_parse(one, dialect), repeat),
        "ours, tables": (lambda one: ours(one, tables, columns=False), repeat),
        "sqllineage, tables": (lambda one: sqllineage_tables(one, dialect), 1),
    }
    totals = {name: 0.0 for name in tools}
    failed = dict.fromkeys(tools, 0)
    for statement in sampled:
        for name, (function, runs) in tools.items():
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                failures = function([statement])
                times.append(time.perf_counter() - start)
            totals[name] += statistics.median(times)
            failed[name] += failures
    return {name: Measure(name=name, statements=len(sampled), runs=[totals[name]], failed=failed[name])
            for name in tools}


def from_log(queries: Sequence[Query], dialect: str, repeat: int, copies: int) -> dict[str, Measure]:
    """A log of repeated templates: ours keeps one template cache for the whole log (new each run)."""
    log = query_log(queries, copies)
    tables, columns = contexts_for(queries, dialect, catalog=False), contexts_for(queries, dialect, catalog=True)
    slow = max(1, math.ceil(repeat / 2))
    return interleaved([
        Task(name="sqlglot.parse", function=lambda: bare_parse(log, dialect), statements=len(log), runs=slow),
        Task(name="ours, tables", function=lambda: ours(log, tables, columns=False, cache=TemplateCache()),
             statements=len(log), runs=slow),
        Task(name="ours, tables + columns", function=lambda: ours(log, columns, columns=True, cache=TemplateCache()),
             statements=len(log), runs=slow),
    ])


def _warm(statements: Sequence[tuple[Query, str]], dialect: str, *contexts: dict[str, NameContext]) -> None:
    """First calls build a dialect's tokenizer and parser tables: not what is measured."""
    bare_parse(statements, dialect)
    for context in contexts:
        ours(statements, context, columns=True)
    lineage_all(statements, dialect)


# -- Reporting --------------------------------------------------------------------------------

PURE = "sqlglot.parse, pure Python"
LEAST = "bound: parse + fingerprint + table walk"
GOALS = (
    ("ours, tables vs sqlglot.parse (pure Python, as pip install sqlglot)", "cold", PURE, "ours, tables", 0.9),
    ("ours, tables vs sqlglot.parse (this build)", "cold", "sqlglot.parse", "ours, tables", 0.9),
    ("ours, tables vs sqllineage (its sample)", "sample", "sqllineage, tables", "ours, tables", 150.0),
    ("ours, columns vs sqlglot lineage per column", "cold", "sqlglot lineage per column", "ours, tables + columns",
     5.0),
)


def ratio(results: dict[str, dict[str, Measure]], workload: str, slower: str, faster: str) -> float | None:
    """How many times faster ``faster`` is than ``slower``: the median over rounds of the two
    tools' time ratio in the same round (None when either was not run)."""
    found = results.get(workload, {})
    if slower not in found or faster not in found:
        return None
    return paired(found[slower], found[faster])


def paired(slower: Measure, faster: Measure) -> float:
    # A slow tool runs fewer rounds: the pairs are the rounds both ran.
    rounds = [s / f for s, f in zip(slower.runs, faster.runs, strict=False)]
    return statistics.median(rounds)


def workload_table(title: str, measures: dict[str, Measure]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("tool", "statements", "median s", "stmts/s", "vs sqlglot.parse", "failed"):
        table.add_column(name, justify="left" if name == "tool" else "right", no_wrap=True)
    base = measures["sqlglot.parse"]
    for m in measures.values():
        count = m.statements
        table.add_row(m.name, str(count), f"{m.seconds:.3f}", f"{count / m.seconds:,.0f}",
                      f"{paired(base, m):.2f}x", str(m.failed))
    return table


def goals_table(results: dict[str, dict[str, dict[str, Measure]]]) -> Table:
    table = Table(title="Goals (how many times faster; higher is better)", title_justify="left")
    table.add_column("comparison", no_wrap=True)
    for dialect in results:
        table.add_column(dialect, justify="right")
    table.add_column("goal", justify="right")
    for label, workload, slower, faster, goal in GOALS:
        cells = []
        for by_workload in results.values():
            value = ratio(by_workload, workload, slower, faster)
            cells.append("-" if value is None else f"{value:.2f}x {'ok' if value >= goal else 'MISSED'}")
        table.add_row(label, *cells, f">= {goal:g}x")
    # How near 0.9x any table level on sqlglot can come: the parse plus the least of the required work.
    cells = [f"{value:.2f}x" if (value := ratio(w, "cold", "sqlglot.parse", LEAST)) is not None else "-"
             for w in results.values()]
    table.add_row(f"{LEAST} vs sqlglot.parse (this build)", *cells, "(a bound)")
    for label, slower, faster in (("log: ours, tables vs sqlglot.parse", "sqlglot.parse", "ours, tables"),
                                  ("log: ours, columns vs sqlglot.parse", "sqlglot.parse", "ours, tables + columns")):
        cells = [f"{value:.2f}x" if (value := ratio(w, "log", slower, faster)) is not None else "-"
                 for w in results.values()]
        table.add_row(label, *cells, "")
    return table


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (the slow measurements and the log: half)")
    parser.add_argument("--dialect", action="append", help="dialects to read the queries as (default duckdb, postgres)")
    parser.add_argument("--log-copies", type=int, default=10, help="times each template is in the synthetic log")
    parser.add_argument("--sqllineage-sample", type=int, default=24, help="statements sqllineage is timed on (0: skip)")
    args = parser.parse_args(argv)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")  # the peers warn on every statement they skip
    queries = tpc_queries()
    console = Console(width=max(Console().width, 130))
    build = sqlglot_build()
    console.print(f"{len(queries)} TPC-H and TPC-DS queries; sqlglot {sqlglot.__version__}, {build}; "
                  f"Python {platform.python_version()}; median of {args.repeat} runs", highlight=False)
    results: dict[str, dict[str, dict[str, Measure]]] = {}
    for dialect in args.dialect or ["duckdb", "postgres"]:
        results[dialect] = {"cold": cold(queries, dialect, args.repeat),
                            "sample": on_sample(queries, dialect, args.repeat, args.sqllineage_sample),
                            "log": from_log(queries, dialect, args.repeat, args.log_copies)}
        console.print(workload_table(f"{dialect}: each distinct statement once, no cache", results[dialect]["cold"]))
        if results[dialect]["sample"]:
            console.print(workload_table(f"{dialect}: sqllineage's even sample, statement by statement, no cache",
                                         results[dialect]["sample"]))
        console.print(workload_table(f"{dialect}: a query log, each template {args.log_copies} times with other "
                                     "numbers", results[dialect]["log"]))
    console.print(goals_table(results))
    write(results, build, args)


def write(results: dict[str, dict[str, dict[str, Measure]]], build: str, args: argparse.Namespace) -> None:
    doc = {
        "python": platform.python_version(), "sqlglot": sqlglot.__version__, "sqlglot_build": build,
        "repeat": args.repeat, "log_copies": args.log_copies,
        "results": {d: {w: {n: m.to_dict() for n, m in ms.items()} for w, ms in ws.items()}
                    for d, ws in results.items()},
        "ratios": {d: {label: ratio(ws, workload, slower, faster) for label, workload, slower, faster, _ in GOALS}
                   for d, ws in results.items()},
        "bound_vs_sqlglot_parse": {d: ratio(ws, "cold", "sqlglot.parse", LEAST) for d, ws in results.items()},
    }
    write_results("throughput.json", doc)


if __name__ == "__main__":
    main()
