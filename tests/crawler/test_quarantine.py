"""The quarantine managed: records read again after a parser upgrade leave it, junk of a wrong
--type is cleared and its file read again, and each crawl's issues carry its number."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import graph
import parsers
from crawler.cli import main
from crawler.config import from_paths
from crawler.crawl import crawl
from graph.model import IssueFilter
from parsers import ParseIssue, ParseResult, SourceRecord

crawling = importlib.import_module("crawler.crawl")  # (the package's `crawl` is the function)

TRACE = [
    {"timestamp": "2026-11-25T06:00:00+00:00", "user": "etl", "query": "INSERT INTO mart.a SELECT x FROM raw.a"},
    {"timestamp": "2026-11-25T06:01:00+00:00", "user": "etl", "query": "INSERT INTO mart.b SELECT y FROM raw.b"},
]
BAD_LINE = '{"timestamp": "2026-11-25T06:02:00+00:00", oops\n'


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / "trace.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(row) + "\n" for row in TRACE) + BAD_LINE, encoding="utf-8")
    return path


def _old_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that does not know INSERT ... SELECT into mart.b yet."""
    real = parsers.parse

    def parse(record: SourceRecord) -> ParseResult:
        if "mart.b" in record.text:
            return ParseResult(record_key="old", issues=(ParseIssue(
                code="unparseable_sql", message="not understood (yet)", origin=record.origin),))
        return real(record)

    monkeypatch.setattr(crawling.parsers, "parse", parse)


def test_records_that_now_parse_leave_the_quarantine(trace: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = graph.open_store(f"sqlite:///{tmp_path / 'l.db'}")
    specs = from_paths([str(trace)], {"dialect": "postgres"}).sources
    with monkeypatch.context() as patch:
        _old_parser(patch)
        first = crawl(specs, store)
    assert first.crawl == 1 and first.issues_by_code == {"bad_json": 1, "unparseable_sql": 1}
    assert not any(n.name.endswith("mart.b") for n in store.nodes("dataset"))
    again = crawl(specs, store)  # the upgrade alone: nothing new to read, the quarantine stays
    assert again.crawl == 2 and store.quarantine(IssueFilter()).total == 2
    retried = crawl(specs, store, retry_quarantine=True)
    assert retried.retried == {"released": 1, "still": 1}
    (left,) = store.quarantine(IssueFilter()).entries
    assert left.issue.code == "bad_json", "a line still not JSON stays"
    assert any(n.name.endswith("mart.b") for n in store.nodes("dataset")), "the record's lineage is written"
    assert {(c.change, c.node.name) for c in store.changes(2, 3) if c.node and c.node.kind == "dataset"} >= {
        ("added", "mart.b"), ("added", "raw.b")}
    assert crawl(specs, store, retry_quarantine=True).retried == {"still": 1}


def _lineage(*args: str, status: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == status, result.output
    return result.output


def test_junk_of_a_wrong_type_is_cleared_and_the_file_read_again(trace: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    wrong = tmp_path / "logs" / "trace.csv"
    wrong.write_text("ts,user,query\n" + "".join(f"{row['timestamp']},{row['user']},{row['query']}\n" for row in TRACE),
                     encoding="utf-8")
    _lineage("crawl", str(wrong), "--type", "sql_trace", "--store", store, "-q", status=1)  # (JSON lines)
    junk = json.loads(_lineage("issues", "--file", str(wrong), "--store", store, "--json"))
    assert junk["total"] == 3 and {i["code"] for i in junk["issues"]} == {"bad_json"}
    assert "Cleared" in _lineage("issues", "--clear", "--file", str(wrong), "--store", store)
    assert json.loads(_lineage("issues", "--file", str(wrong), "--store", store, "--json"))["total"] == 0
    report = json.loads(_lineage("crawl", str(wrong), "--type", "sql_trace_csv", "--store", store, "--json"))
    assert (report["records"], report["written"]) == (2, 2), "read again from the start, with the right type"


def test_issues_lists_counts_filters_and_acknowledges(trace: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    other = trace.with_name("other.jsonl")
    other.write_text(json.dumps({"query": "SELECT 1"}) + "\n{oops\n" + BAD_LINE, encoding="utf-8")
    _lineage("crawl", str(trace), "--store", store, "-q", status=1)
    _lineage("crawl", str(other), "--store", store, "-q", status=1)
    listed = json.loads(_lineage("issues", "--store", store, "--json", "--limit", "1"))
    assert (listed["total"], listed["shown"]) == (3, 1)
    text = _lineage("issues", "--store", store, "--limit", "1")
    assert "1 of 3 issue(s) shown" in text and str(other) in text, "whole file names"
    assert json.loads(_lineage("issues", "--since", "2", "--store", store, "--json"))["total"] == 2
    assert json.loads(_lineage("issues", "--code", "bad_json", "--store", store, "--json"))["total"] == 3
    assert json.loads(_lineage("issues", "--file", str(trace.parent), "--store", store, "--json"))["total"] == 3
    first = listed["issues"][0]
    assert "Acknowledged 1" in _lineage("issues", "--ack", first["id"][:8], "--store", store)
    assert "Acknowledged 2" in _lineage("issues", "--ack", "bad_json", "--store", store)
    left = json.loads(_lineage("issues", "--store", store, "--json"))
    assert (left["total"], left["acknowledged_hidden"]) == (0, 3)
    assert json.loads(_lineage("issues", "--all", "--store", store, "--json"))["total"] == 3
    result = CliRunner().invoke(main, ["issues", "--clear", "--store", store])
    assert result.exit_code == 2 and "give --code" in result.output


def test_a_quarantine_entry_keeps_the_crawl_that_found_it(trace: Path, tmp_path: Path) -> None:
    store = graph.open_store(f"sqlite:///{tmp_path / 'l.db'}")
    specs = from_paths([str(trace)], {}).sources
    crawl(specs, store)
    trace.write_text(trace.read_text(encoding="utf-8") + "NOPE\n", encoding="utf-8")
    crawl(specs, store)
    assert sorted(e.crawl for e in store.quarantine(IssueFilter()).entries) == [1, 2]
    (latest,) = store.quarantine(IssueFilter(since=2)).entries
    assert latest.issue.origin.line == 4
