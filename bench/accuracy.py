"""Accuracy of SQL lineage on the hand-written corpus (tests/corpus, see its README): us,
sqllineage and openlineage-sql on every case, scored by precision, recall and F1 of source
tables, target tables and direct column edges; ours also on indirect edges and lifecycle events.
Results go to bench/results/accuracy.json.

    python bench/accuracy.py [--misses] [--dialect D ...] [--timeout S] [--no-peers]

Scores are micro-averaged: every expected and every found table (or edge) counts once, summed
over cases, per dialect and overall. Names compare without case. Our engine is held to the
corpus's names exactly; a peer is given some leniency, since the tools qualify names
differently: a peer's name that is the expected name's last parts matches it (``raw.orders``
or ``orders`` for ``analytics.raw.orders``; a column keeps at least its table:
``orders.amount`` matches ``analytics.raw.orders.amount``, a bare ``amount`` does not), and
sqllineage's ``<default>.`` prefix is dropped. Each peer is given the case's default schema (or
the engine's) and, sqllineage only, the case's table schema. A peer that raises or runs longer
than the time limit (sqllineage can hang) found nothing. Column edges are scored on the cases that
list them, indirect edges on the cases that list them; bad_input cases only for not crashing.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import multiprocessing
import platform
import sys
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import peers
import sqlglot
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the corpus reader lives with the tests, shared with test_corpus.py

from outputs import write_results  # noqa: E402

from parsers import dialects  # noqa: E402
from parsers.sql.statements import split  # noqa: E402
from tests.parsers import corpus  # noqa: E402
from tests.parsers.corpus import Case, cases  # noqa: E402

TOOLS = ("ours", "sqllineage", "openlineage-sql")
ASPECTS = ("sources", "targets", "columns", "indirect", "lifecycle")
PEER_ASPECTS = ("sources", "targets", "columns")
BAD_INPUT = "bad_input"


@dataclasses.dataclass(slots=True)
class Score:
    """Matches, found and expected items, summed over cases."""

    matched: int = 0
    found: int = 0
    expected: int = 0

    def __iadd__(self, other: Score) -> Score:
        self.matched += other.matched
        self.found += other.found
        self.expected += other.expected
        return self

    @property
    def precision(self) -> float | None:
        return self.matched / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    @property
    def f1(self) -> float | None:
        if not self.expected and not self.found:
            return None
        total = self.found + self.expected
        return 2 * self.matched / total

    def to_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "found": self.found, "expected": self.expected,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one tool made of one case: ``status`` is ok, error (it raised) or timeout."""

    status: str
    found: dict[str, set[Any]] = dataclasses.field(default_factory=dict)
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status != "ok"


# -- The corpus's expectations: tests/parsers/corpus.py (Case.expected, ours) ------------------

def constructs(case: Case) -> list[str]:
    return str(case.spec.get("construct", "")).replace(",", " ").split() or ["-"]


# -- The tools --------------------------------------------------------------------------------

def run_ours(case: Case) -> Outcome:
    """Our engine through ``describe``, the shape of ``lineage sql --json``, as the corpus test
    reads it (tests/parsers/corpus.py)."""
    try:
        return Outcome(status="ok", found=corpus.ours(case))
    except Exception as error:  # noqa: BLE001  (a crash is what this counts)
        return Outcome(status="error", message=f"{type(error).__name__}: {error}"[:300])


def peer_request(tool: str, case: Case) -> dict[str, Any]:
    """The keyword arguments of the peer's call in bench/peers.py for this case."""
    dialect = case.dialect
    default_schema = _peer_default_schema(case)
    if tool == "sqllineage":
        tables = {name: list(columns) for name, columns in case.spec.get("schema", {}).items()}
        return {"sql": case.spec["sql"], "dialect": dialect, "default_schema": default_schema, "tables": tables}
    try:
        statements = [s.text for s in split(case.spec["sql"], case.context().dialect) if s.tokens]
    except Exception:  # noqa: BLE001  (unsplittable text goes to the peer whole)
        statements = [case.spec["sql"]]
    return {"sql": case.spec["sql"], "dialect": dialect, "default_schema": default_schema,
            "statements": statements or [case.spec["sql"]]}


def _peer_default_schema(case: Case) -> str | None:
    """The schema a bare name lands in: the case's, else (two-part engines) its database, else
    the engine's default (public, dbo, main ...)."""
    resolved = case.context().dialect
    if case.spec.get("default_schema"):
        return str(case.spec["default_schema"])
    if dialects.has_two_part_names(resolved) and case.spec.get("default_db"):
        return str(case.spec["default_db"])
    return dialects.default_schema(resolved)


_PEER_CALLS: dict[str, Callable[..., dict[str, Any]]] = {
    "sqllineage": peers.sqllineage_found,
    "openlineage-sql": peers.openlineage_found,
}


def _serve(connection: Connection) -> None:
    """A peer worker: answers (tool, kwargs) requests until it gets None."""
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    while (request := connection.recv()) is not None:
        tool, kwargs = request
        try:
            connection.send(("ok", _PEER_CALLS[tool](**kwargs), ""))
        except Exception as error:  # noqa: BLE001  (a peer failing on a case is part of its score)
            connection.send(("error", {}, f"{type(error).__name__}: {error}"[:300]))


class PeerWorker:
    """A peer in its own process, so a case that hangs it can be abandoned: the process is
    killed and the next case starts a fresh one."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._connection: Connection | None = None

    def call(self, tool: str, kwargs: dict[str, Any], timeout: float) -> Outcome:
        if self._connection is None:
            self._start()
        assert self._connection is not None
        self._connection.send((tool, kwargs))
        if not self._connection.poll(timeout):
            self.close(kill=True)
            return Outcome(status="timeout", message=f"no answer in {timeout:g} s")
        status, found, message = self._connection.recv()
        return Outcome(status=status, found=found, message=message)

    def _start(self) -> None:
        self._connection, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()

    def close(self, *, kill: bool = False) -> None:
        if self._connection is None:
            return
        if kill:
            self._process.kill()
        else:
            self._connection.send(None)
        self._process.join(timeout=10)
        self._connection.close()
        self._connection = self._process = None


def run_peer(tool: str, corpus: Sequence[Case], timeout: float, into: dict[tuple[str, str], Outcome]) -> None:
    worker = PeerWorker()
    # The first call also starts the worker and imports the peer: not held to the case's limit.
    if corpus:
        worker.call(tool, peer_request(tool, corpus[0]), timeout * 10)
    try:
        for case in corpus:
            into[(tool, case.key)] = worker.call(tool, peer_request(tool, case), timeout)
    finally:
        worker.close()


def run_all(corpus: Sequence[Case], tools: Sequence[str], timeout: float) -> dict[tuple[str, str], Outcome]:
    """Every tool on every case; the peers in their own processes while ours runs here."""
    outcomes: dict[tuple[str, str], Outcome] = {}
    threads = [threading.Thread(target=run_peer, args=(tool, corpus, timeout, outcomes), daemon=True)
               for tool in tools if tool != "ours"]
    for thread in threads:
        thread.start()
    for case in corpus:
        outcomes[("ours", case.key)] = run_ours(case)
    for thread in threads:
        thread.join()
    return outcomes


# -- Scoring ----------------------------------------------------------------------------------

def score(expected: set[Any], found: set[Any], lenient: bool) -> tuple[Score, list[Any], list[Any]]:
    """One-to-one matches: exact ones first, then (for a peer) less-qualified names. Also the
    expected items left unmatched, and the found ones."""
    left = set(expected)
    unmatched = []
    for item in sorted(found, key=str):
        if item in left:
            left.discard(item)
        else:
            unmatched.append(item)
    extra = []
    for item in unmatched:
        hit = next((e for e in sorted(left, key=str) if _lenient_match(item, e)), None) if lenient else None
        if hit is None:
            extra.append(item)
        else:
            left.discard(hit)
    matched = len(found) - len(extra)
    return Score(matched=matched, found=len(found), expected=len(expected)), sorted(left, key=str), extra


def _lenient_match(found: Any, expected: Any) -> bool:
    if isinstance(found, tuple):
        return all(_same_column(f, e) for f, e in zip(found, expected, strict=True))
    return _same_name(found, expected)


def _same_name(found: str, expected: str) -> bool:
    if found == expected:
        return True
    if any(mark in expected for mark in ("/", ":", "@")):  # a file or stage path: exact only
        return found.rstrip("/") == expected.rstrip("/")
    found_parts, expected_parts = found.split("."), expected.split(".")
    return len(found_parts) < len(expected_parts) and expected_parts[-len(found_parts):] == found_parts


def _same_column(found: str, expected: str) -> bool:
    if "." in expected and "." not in found:  # a column must keep its table
        return False
    return _same_name(found, expected)


@dataclasses.dataclass(slots=True)
class Tally:
    """Scores by (tool, dialect, aspect), ours by (construct, aspect), and failure counts."""

    scores: defaultdict[tuple[str, str, str], Score] = dataclasses.field(default_factory=lambda: defaultdict(Score))
    by_construct: defaultdict[tuple[str, str], Score] = dataclasses.field(default_factory=lambda: defaultdict(Score))
    failures: defaultdict[tuple[str, str, str], int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    cases: defaultdict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    exact: defaultdict[str, list[int]] = dataclasses.field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: defaultdict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=lambda: defaultdict(list))


def tally(corpus: Sequence[Case], outcomes: dict[tuple[str, str], Outcome], tools: Sequence[str]) -> Tally:
    result = Tally()
    for case in corpus:
        result.cases[case.dialect] += 1
        for tool in tools:
            outcome = outcomes[(tool, case.key)]
            if BAD_INPUT in constructs(case):
                # A peer may refuse bad input by raising; hanging, or our engine raising, is a crash.
                survived = outcome.status == "ok" or (tool != "ours" and outcome.status == "error")
                result.failures[(tool, BAD_INPUT, "survived" if survived else "crashed")] += 1
                continue
            if outcome.failed:
                result.failures[(tool, case.dialect, outcome.status)] += 1
            _score_case(result, case, tool, outcome)
    return result


def _score_case(result: Tally, case: Case, tool: str, outcome: Outcome) -> None:
    expected = case.expected()
    aspects = [a for a in (ASPECTS if tool == "ours" else PEER_ASPECTS) if a in expected]
    differences = {}
    for aspect in aspects:
        case_score, missing, extra = score(expected[aspect], outcome.found.get(aspect, set()), lenient=tool != "ours")
        result.scores[(tool, case.dialect, aspect)] += case_score
        if tool == "ours":
            for construct in constructs(case):
                result.by_construct[(construct, aspect)] += case_score
        if missing or extra:
            differences[aspect] = {"missing": [_text(m) for m in missing], "extra": [_text(e) for e in extra]}
    if tool == "ours":
        for construct in constructs(case):
            result.exact[construct][0] += not differences and not outcome.failed
            result.exact[construct][1] += 1
    if differences or outcome.failed:
        result.misses[tool].append({"case": case.key, "construct": case.spec.get("construct", ""),
                                    "known_gap": case.spec.get("known_gap", ""), "error": outcome.message,
                                    "differences": differences})


def _text(item: Any) -> str:
    if isinstance(item, tuple) and len(item) == 2:
        return f"{item[0]} <- {item[1]}"
    if isinstance(item, tuple):
        return " ".join(part for part in item if part)
    return str(item)


def overall(result: Tally, tool: str, aspect: str) -> Score:
    total = Score()
    for (name, _dialect, kind), value in result.scores.items():
        if name == tool and kind == aspect:
            total += value
    return total


# -- Reporting --------------------------------------------------------------------------------

def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


_SHORT = {"sources": "src", "targets": "tgt", "columns": "col"}


def tools_table(result: Tally, tools: Sequence[str]) -> Table:
    table = Table(title="Precision / recall / F1 per dialect (micro-averaged)", title_justify="left")
    table.add_column("dialect", no_wrap=True)
    table.add_column("cases", justify="right")
    table.add_column("tool", no_wrap=True)
    for aspect in PEER_ASPECTS:
        for measure in ("P", "R", "F1"):
            table.add_column(f"{_SHORT[aspect]} {measure}", justify="right")
    table.add_column("ind F1", justify="right")
    table.add_column("life F1", justify="right")
    table.add_column("fail", justify="right")
    for dialect in [*sorted(result.cases), "all"]:
        for index, tool in enumerate(tools):
            table.add_row(*_tool_row(result, tool, dialect, index), end_section=index == len(tools) - 1)
    return table


def _tool_row(result: Tally, tool: str, dialect: str, index: int) -> list[str]:
    def pick(aspect: str) -> Score:
        if dialect == "all":
            return overall(result, tool, aspect)
        return result.scores.get((tool, dialect, aspect), Score())

    cases = sum(result.cases.values()) if dialect == "all" else result.cases[dialect]
    cells = [dialect if index == 0 else "", str(cases) if index == 0 else "", tool]
    for aspect in PEER_ASPECTS:
        value = pick(aspect)
        cells += [_number(value.precision), _number(value.recall), _number(value.f1)]
    cells += [_number(pick(a).f1) if tool == "ours" else "" for a in ("indirect", "lifecycle")]
    failed = sum(count for (name, where, status), count in result.failures.items()
                 if name == tool and status in ("error", "timeout") and dialect in (where, "all"))
    cells.append(str(failed))
    return cells


def construct_table(result: Tally) -> Table:
    table = Table(title="Ours per construct (F1; exact = cases with every aspect right)", title_justify="left")
    for name in ("construct", "cases", "exact", *ASPECTS):
        table.add_column(name, justify="left" if name == "construct" else "right")
    for construct in sorted(result.exact):
        right, cases = result.exact[construct]
        row = [construct, str(cases), f"{right}"]
        row += [_number(result.by_construct.get((construct, a), Score()).f1) for a in ASPECTS]
        table.add_row(*row)
    return table


def summary(result: Tally, tools: Sequence[str]) -> list[str]:
    lines = []
    for aspect in PEER_ASPECTS:
        ours = overall(result, "ours", aspect).f1 or 0.0
        versus = []
        for tool in tools[1:]:
            theirs = overall(result, tool, aspect).f1 or 0.0
            versus.append(f"{tool} {theirs:.2f} (ours {ours / theirs:.2f}x)" if theirs else f"{tool} {theirs:.2f}")
        lines.append(f"{aspect} F1: ours {ours:.2f}" + ("; " + "; ".join(versus) if versus else ""))
    bad = {tool: (result.failures.get((tool, BAD_INPUT, "survived"), 0),
                  result.failures.get((tool, BAD_INPUT, "crashed"), 0)) for tool in tools}
    cases = sum(bad["ours"])
    if cases:
        lines.append(f"bad_input ({cases} cases), ours did not crash on {bad['ours'][0]}; peers are allowed to raise")
    timeouts = {tool: sum(c for (name, _, status), c in result.failures.items() if name == tool and status == "timeout")
                for tool in tools}
    lines.append("timeouts: " + ", ".join(f"{tool} {count}" for tool, count in timeouts.items()))
    return lines


def misses_text(result: Tally, tool: str) -> list[str]:
    lines = [f"\nMisses of {tool} ({len(result.misses[tool])} cases):"]
    for miss in result.misses[tool]:
        gap = f"  (known gap: {miss['known_gap']})" if miss["known_gap"] else ""
        lines.append(f"- {miss['case']} [{miss['construct']}]{gap}")
        if miss["error"]:
            lines.append(f"    failed: {miss['error']}")
        for aspect, diff in miss["differences"].items():
            for label in ("missing", "extra"):
                for item in diff[label]:
                    lines.append(f"    {aspect} {label}: {item}")
    return lines


def to_json(result: Tally, tools: Sequence[str], seconds: float) -> dict[str, Any]:
    scores: dict[str, Any] = {}
    for tool in tools:
        scores[tool] = {dialect: {aspect: result.scores[(tool, dialect, aspect)].to_dict()
                                  for aspect in ASPECTS if (tool, dialect, aspect) in result.scores}
                        for dialect in sorted(result.cases)}
        scores[tool]["all"] = {aspect: overall(result, tool, aspect).to_dict() for aspect in ASPECTS
                               if overall(result, tool, aspect).expected or overall(result, tool, aspect).found}
    return {
        "python": platform.python_version(), "sqlglot": sqlglot.__version__, "seconds": round(seconds, 1),
        "cases": dict(result.cases), "scores": scores,
        "constructs": {c: {"cases": n, "exact": right, **{a: result.by_construct[(c, a)].to_dict()
                                                          for a in ASPECTS if (c, a) in result.by_construct}}
                       for c, (right, n) in sorted(result.exact.items())},
        "failures": [{"tool": t, "where": w, "status": s, "count": n}
                     for (t, w, s), n in sorted(result.failures.items())],
        "misses": dict(result.misses),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", nargs="?", const="ours", choices=TOOLS,
                        help="list a tool's misses case by case (ours when no tool is named)")
    parser.add_argument("--dialect", action="append", help="only these corpus files (repeatable)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a peer may take on one case")
    parser.add_argument("--no-peers", action="store_true", help="score our engine only")
    args = parser.parse_args(argv)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    corpus = [case for case in cases() if not args.dialect or case.dialect in args.dialect]
    tools = TOOLS[:1] if args.no_peers else TOOLS
    start = time.perf_counter()
    result = tally(corpus, run_all(corpus, tools, args.timeout), tools)
    seconds = time.perf_counter() - start
    console = Console(width=max(Console().width, 140))
    console.print(f"SQL lineage accuracy: {len(corpus)} corpus cases in {len(result.cases)} dialects, "
                  f"sqlglot {sqlglot.__version__}, {seconds:.0f} s")
    console.print(tools_table(result, tools))
    console.print(construct_table(result))
    for line in summary(result, tools):
        console.print(line, highlight=False)
    if args.misses:
        console.print("\n".join(misses_text(result, args.misses)), highlight=False, markup=False)
    write_results("accuracy.json", to_json(result, tools, seconds))


if __name__ == "__main__":
    main()
