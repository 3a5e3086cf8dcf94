"""PostgreSQL stderr logs written with a long custom log_line_prefix (fixtures/querylogs/
postgres_long_prefix/, a real PostgreSQL 15 writing all three destinations at once): the prefix
is read back from the lines' own fields, a prefix that would leave names holding the rest of the
line is refused with an issue, and `lineage crawl --log-line-prefix` gives it by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler import logs
from crawler.cli import main
from crawler.crawl import crawl
from crawler.formats import postgres
from crawler.registry import SourceSpec
from graph import open_store
from tests.crawler.test_logs_together import _graph

LONG = Path(__file__).resolve().parents[2] / "fixtures" / "querylogs" / "postgres_long_prefix"
PG = "postgres://localhost:5432"
PREFIX = "%m [%p] %q%u@%d app=%a client=%h session=%c "
NAME = re.compile(r"^credit\.[a-z_]+\.[a-z_]+$")


def _expected_feeds() -> set[tuple[str, str]]:
    document = json.loads((LONG / "expected_lineage.json").read_text(encoding="utf-8"))
    return {(source, target) for source, target in document["feeds"]}


def _feeds(url: str) -> set[tuple[str, str]]:
    store = open_store(url, read_only=True)
    try:
        names = {node.id: node.name for node in store.nodes("dataset")}
        return {(names[e.src], names[e.dst]) for e in store.edges(["FEEDS"])}
    finally:
        store.close()


def test_the_prefix_is_read_back_from_the_lines() -> None:
    assert logs.detect_prefix(LONG / "stderr.log") == (PREFIX, None)


@pytest.mark.parametrize("log", ["stderr.log", "csvlog.csv", "jsonlog.json"])
def test_a_long_prefix_log_gives_the_expected_lineage_in_every_format(log: str, tmp_path: Path) -> None:
    """Sessions (by %c), their temporary tables and search_path carry over: edge by edge."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = open_store(url)
    try:
        report = crawl([SourceSpec(path=str(LONG / log), namespace=PG)], store, stale_after=None)
        users = {run.props.get("user") for run in store.nodes("run")}
        datasets = {node.name for node in store.nodes("dataset")}
    finally:
        store.close()
    assert _feeds(url) == _expected_feeds()
    assert all(NAME.match(name) for name in datasets), sorted(datasets)
    assert users == {"etl_nightly", "svc_ingest", "ana_risk", "svc_limits"}
    assert not report.issues_by_code


def test_the_three_destinations_together_give_the_graph_of_one(tmp_path: Path) -> None:
    one = _graph(f"sqlite:///{tmp_path / 'one.db'}", LONG / "stderr.log", PG)
    three = _graph(f"sqlite:///{tmp_path / 'three.db'}", LONG, PG)
    assert three == one
    assert sum(node["kind"] == "run" for node in three["nodes"]) == 59  # type: ignore[union-attr]


def test_a_prefix_whose_names_swallow_the_line_is_refused_with_an_issue(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """As before the prefix was read back from the lines: of the usual prefixes, `%m [%p] %q%u@%d `
    reads every line, with databases like `credit app=... client=127.0.0.1 session=...`. Refused:
    the statements are read for their time and pid, no name is made of the rest of the prefix."""
    monkeypatch.setattr(postgres, "infer_prefix", lambda lines: None)
    prefix, issue = logs.detect_prefix(LONG / "stderr.log")
    assert prefix in logs.PREFIX_FALLBACKS and issue is not None and issue.code == "unknown_log_line_prefix"
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        report = crawl([SourceSpec(path=str(LONG / "stderr.log"), namespace=PG, database="credit")], store,
                       stale_after=None)
        datasets = {node.name for node in store.nodes("dataset")}
    finally:
        store.close()
    assert report.issues_by_code == {"unknown_log_line_prefix": 1}
    assert datasets and all(NAME.match(name) for name in datasets), sorted(datasets)


def test_crawl_takes_the_prefix_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "detect_prefix", lambda path: pytest.fail("the given prefix is not detected"))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    result = CliRunner().invoke(main, ["crawl", str(LONG / "stderr.log"), "--namespace", PG, "--store", url,
                                       "--log-line-prefix", PREFIX, "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _feeds(url) == _expected_feeds()


PREFIXES = [
    ("%t [%p]: [%l-%l] user=%u,db=%d,app=%a,client=%h ",
     ["2026-11-26 13:23:06 UTC [22694]: [1-1] user=,db=,app=,client= LOG:  checkpoint starting",
      "2026-11-26 13:23:06 UTC [22695]: [3-1] user=etl,db=credit,app=psql,client=10.0.0.1 LOG:  statement: select 1"]),
    ("%m [%p] %q%u@%d ",
     ["2026-11-26 13:23:06.149 UTC [22694] LOG:  database system is ready to accept connections",
      "2026-11-26 13:23:06.151 UTC [22695] etl@credit LOG:  statement: select 1"]),
    ("%n [%p] ", ["1795699402.284 [22694] LOG:  database system is ready to accept connections"]),
]


@pytest.mark.parametrize(("prefix", "lines"), PREFIXES, ids=[prefix for prefix, _ in PREFIXES])
def test_usual_prefixes_are_read_back_as_written(prefix: str, lines: list[str]) -> None:
    """(pgBadger's `[%l-1]` reads back as `[%l-%l]`: the same pattern, both numbers unnamed.)"""
    assert postgres.infer_prefix(lines) == prefix
    pattern = postgres.prefix_pattern(prefix)
    assert all((match := pattern.match(line)) and postgres.plausible(match) for line in lines)
