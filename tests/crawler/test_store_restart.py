"""The store gone in the middle of a crawl: the real Neo4j server is stopped and started again
while a crawl writes. The crawl waits it out (its writes are tried again with backoff), its
cursors never pass what was written, and it ends with the graph one undisturbed crawl makes."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from crawler import SourceSpec, crawl
from graph import open_store
from graph.export import dumps, export
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
        report = crawl([SourceSpec(path=str(trace))], store, batch_size=BATCH)
        ended = time.monotonic()
    finally:
        restarting.join()
    assert stopped and stopped[0] < ended, "the crawl ended before the server went away: nothing was waited out"
    assert report.records == STATEMENTS and report.written == STATEMENTS
    alone = open_store(f"sqlite:///{tmp_path / 'alone.db'}")
    crawl([SourceSpec(path=str(trace))], alone, batch_size=BATCH)
    after = open_store(url, read_only=True)
    try:
        assert _graph(after) == _graph(alone)
    finally:
        after.close()
        alone.close()
        store.close()
