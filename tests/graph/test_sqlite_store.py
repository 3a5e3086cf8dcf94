from __future__ import annotations

from pathlib import Path

import pytest

from graph import UnknownStoreError, open_store
from graph.export import dumps, export
from graph.store import EVIDENCE_SAMPLE
from parsers import Origin, ParseIssue
from tests.graph.helpers import event


def test_writing_the_same_runs_twice_changes_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    events = [event("j1", ["raw.a"], ["stg.b"], run="r1"), event("j2", ["stg.b"], ["mart.c"], run="r2")]
    first = store.write(events)
    before = dumps(export(store))
    second = store.write(events)
    assert (first.written, second.written, second.already_seen) == (2, 0, 2)
    assert dumps(export(store)) == before


def test_each_new_run_counts_and_widens_the_time_span(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r1", when="2026-11-25T06:00:00.000Z")])
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r2", when="2026-11-24T06:00:00.000Z")])
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r3", when=None)])  # type: ignore[arg-type]
    (feeds,) = [e for e in store.edges(["FEEDS"])]
    assert (feeds.count, feeds.first_seen, feeds.last_seen) == (3, "2026-11-24T06:00:00.000Z",
                                                                 "2026-11-25T06:00:00.000Z")
    kinds = sorted(e.kind for e in store.edges())
    assert kinds == ["FEEDS", "OF", "OF", "OF", "READS", "WRITES"]


def test_evidence_is_a_capped_sample_of_the_first_runs(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    store.write([event("j1", ["raw.a"], ["stg.b"], run=f"r{i}", line=i) for i in range(1, 9)])
    (reads,) = store.edges(["READS"])
    evidence = store.evidence(reads.key)
    assert reads.count == 8
    assert [e.origin.line for e in evidence] == list(range(1, EVIDENCE_SAMPLE + 1))
    assert evidence[0].sql == "-- j1"


def test_usage_counts_readers_and_writers(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r1", user="etl"),
                 event("j2", ["stg.b"], [], run="r2", user="ana"),
                 event("j2", ["stg.b"], [], run="r3", user="ana")])
    usage = {(u.user, u.role): u.count for u in store.usage("dataset:postgres://warehouse:5432/stg.b")}
    assert usage == {("etl", "write"): 1, ("ana", "read"): 2}


def test_issues_are_stored_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    issue = ParseIssue(code="bad_json", message="not JSON", origin=Origin(path="/q.jsonl", line=3, byte_offset=90))
    assert store.add_issues([issue, issue]) == 1
    assert store.add_issues([issue]) == 0
    assert store.issues() == [issue]


def test_generation_moves_only_when_something_is_written(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    start = store.generation()
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r1")])
    moved = store.generation()
    store.write([event("j1", ["raw.a"], ["stg.b"], run="r1")])
    assert start < moved == store.generation()


def test_a_reader_sees_what_a_writer_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer = open_store(url)
    reader = open_store(url, read_only=True)
    assert reader.counts() == {}
    writer.write([event("j1", ["raw.a"], ["stg.b"], run="r1")])
    assert reader.counts()["dataset"] == 2


def test_reading_a_store_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(UnknownStoreError, match="no lineage store"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)


@pytest.mark.parametrize("url", ["mongodb://x", "sqlite://relative.db", "nonsense"])
def test_bad_store_urls_are_refused(url: str) -> None:
    with pytest.raises(UnknownStoreError):
        open_store(url)
