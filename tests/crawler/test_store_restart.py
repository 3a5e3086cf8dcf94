"""The store gone in the middle of a crawl: the real Neo4j server is stopped and started again
while a crawl writes. The crawl waits it out (its writes are tried again with backoff), its
cursors never pass what was written, and it ends with the graph and the counts one undisturbed
crawl makes, even where a commit went through and its answer was lost on the way back."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from neo4j.exceptions import IncompleteCommit

from crawler import SourceSpec, crawl
from graph import Store, open_store
from graph.batch import Batch
from graph.export import dumps, export
from tests.crawler.conftest import Fresh
from tests.graph.neo4j_server import SCRIPT, neo4j_url

STATEMENTS = 3000
BATCH = 100


def _trace(path: Path) -> None:
    rows = [{"query": f"insert into mart.t{n % 40} select * from raw.s{n % 17} where id > {n}",
             "timestamp": f"2026-11-26T10:{n // 60 % 60:02d}:{n % 60:02d}Z", "user": f"u{n % 5}"}
            for n in range(STATEMENTS)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _graph(store: object) -> str:
    document = export(store)  # type: ignore[arg-type]
    return dumps({key: value for key, value in document.items() if key not in ("reports",)})


@pytest.mark.slow
def test_a_crawl_waits_out_a_neo4j_restart_and_ends_with_the_whole_graph(request: pytest.FixtureRequest,
                                                                           tmp_path: Path) -> None:
    url = neo4j_url(request)
    trace = tmp_path / "trace.jsonl"
    _trace(trace)
    old = time.time() - 120
    os.utime(trace, (old, old))
    store = open_store(url)
    store.wipe()  # type: ignore[attr-defined]

    stopped: list[float] = []

    def restart() -> None:
        time.sleep(1.0)  # a few batches in
        subprocess.run(["bash", str(SCRIPT), "stop"], check=True, capture_output=True, timeout=120)
        stopped.append(time.monotonic())
        subprocess.run(["bash", str(SCRIPT), "start"], check=True, capture_output=True, timeout=300)

    restarting = threading.Thread(target=restart)
    restarting.start()
    try:
        try:
            report = crawl([SourceSpec(path=str(trace))], store, batch_size=BATCH)
            ended = time.monotonic()
        finally:
            restarting.join()
        assert stopped and stopped[0] < ended, "the crawl ended before the server went away: nothing was waited out"
        assert (report.records, report.written, report.already_seen) == (STATEMENTS, STATEMENTS, 0)
        assert _graph(store) == _alone(trace, tmp_path)
    finally:
        store.close()


def _alone(trace: Path, tmp_path: Path) -> str:
    """The graph one undisturbed crawl of the trace makes, in a store of its own."""
    alone = open_store(f"sqlite:///{tmp_path / 'alone.db'}")
    try:
        crawl([SourceSpec(path=str(trace))], alone, batch_size=BATCH)
        return _graph(alone)
    finally:
        alone.close()


class _AnswerLost:
    """A real store whose ``lose``-th write commits and then fails as a server gone before
    answering does (the driver's IncompleteCommit): the crawl cannot know it was written."""

    def __init__(self, store: Store, lose: int) -> None:
        self._store, self._left = store, lose

    def apply(self, batch: Batch) -> None:
        self._store.apply(batch)
        self._left -= 1
        if self._left == 0:
            raise IncompleteCommit("connection lost while waiting for the commit's answer")

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


@pytest.mark.parametrize("lose", [1, 7])
def test_a_write_whose_commit_answer_was_lost_counts_once(fresh_store: Fresh, tmp_path: Path, lose: int) -> None:
    trace = tmp_path / "trace.jsonl"
    _trace(trace)
    old = time.time() - 120
    os.utime(trace, (old, old))
    store = open_store(fresh_store())
    try:
        report = crawl([SourceSpec(path=str(trace))], _AnswerLost(store, lose), batch_size=BATCH)  # type: ignore[arg-type]
        assert (report.records, report.written, report.already_seen) == (STATEMENTS, STATEMENTS, 0)
        assert _graph(store) == _alone(trace, tmp_path)
    finally:
        store.close()
