"""A server writing the same statements to several logs at once (PostgreSQL's stderr, csvlog
and jsonlog; MariaDB's general and slow logs): each executed statement is one run, however many
of its logs a crawl reads, in one crawl or several, with one process or several, in either store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from graph.export import export
from tests.crawler.conftest import Fresh
from tests.crawler.exports import masked_export

LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "querylogs"
PG, MYSQL = "postgres://localhost:5432", "mysql://localhost:3306"
PG_FORMATS = ("stderr.log", "csvlog.csv", "jsonlog.json")


def _together(tmp_path: Path, server: str, names: tuple[str, ...]) -> Path:
    folder = tmp_path / server
    folder.mkdir()
    for name in names:
        shutil.copyfile(LOGS / server / name, folder / name)
    return folder


def _graph(url: str, path: Path, namespace: str, workers: int = 1) -> dict[str, object]:
    """The store's export after a crawl of ``path``, without the evidence: which log's line is
    kept as an edge's evidence depends on which log was read first."""
    store = open_store(url)
    try:
        crawl([SourceSpec(path=str(path), namespace=namespace)], store, stale_after=None, workers=workers)
        document = export(store)
    finally:
        store.close()
    for edge in document["edges"]:
        edge.pop("evidence", None)
    return document


@pytest.mark.parametrize("alone", PG_FORMATS)
def test_three_postgres_log_destinations_give_the_graph_of_one(alone: str, tmp_path: Path) -> None:
    together = _together(tmp_path, "postgres", PG_FORMATS)
    one = _graph(f"sqlite:///{tmp_path / 'one.db'}", LOGS / "postgres" / alone, PG)
    three = _graph(f"sqlite:///{tmp_path / 'three.db'}", together, PG)
    runs = [node for node in three["nodes"] if node["kind"] == "run"]  # type: ignore[index]
    assert len(runs) == 59, "one run per statement that gave lineage, not three"
    assert three == one


def test_mariadb_general_and_slow_logs_give_the_graph_of_the_general_log(tmp_path: Path) -> None:
    """The general log holds every statement, the slow log those over long_query_time (here all
    but the ones it does not log: see test_database_logs.mariadb_feeds_as_logged)."""
    together = _together(tmp_path, "mariadb", ("general.log", "slow.log"))
    general = _graph(f"sqlite:///{tmp_path / 'general.db'}", LOGS / "mariadb" / "general.log", MYSQL)
    both = _graph(f"sqlite:///{tmp_path / 'both.db'}", together, MYSQL)
    assert both == general
    slow_first = _graph(f"sqlite:///{tmp_path / 'slow-first.db'}", tmp_path / "mariadb" / "slow.log", MYSQL)
    runs = {node["id"] for node in slow_first["nodes"] if node["kind"] == "run"}  # type: ignore[index]
    assert runs <= {node["id"] for node in both["nodes"] if node["kind"] == "run"}  # type: ignore[index]


def test_logs_read_in_separate_crawls_and_in_parts_add_no_runs(tmp_path: Path) -> None:
    """The stderr log read in two crawls, cut in the middle of a session, the csvlog between
    them: what names an execution goes on in the cursor, as the sessions do."""
    whole = (LOGS / "postgres" / "stderr.log").read_bytes()
    cut = whole.index(b"\n", len(whole) // 2) + 1
    growing = tmp_path / "live" / "stderr.log"
    growing.parent.mkdir()
    growing.write_bytes(whole[:cut])
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    reports = []
    for path in (growing, LOGS / "postgres" / "csvlog.csv", growing):
        store = open_store(url)
        try:
            reports.append(crawl([SourceSpec(path=str(path), namespace=PG)], store, stale_after=None))
        finally:
            store.close()
        growing.write_bytes(whole)
    assert reports[0].written and reports[1].already_seen and reports[2].already_seen
    assert [report.graph["run"] for report in reports] == [22, 59, 59]
    assert _graph(url, growing, PG) == _graph(f"sqlite:///{tmp_path / 'one.db'}", LOGS / "postgres" / "csvlog.csv", PG)


def test_workers_and_both_stores_keep_one_run_per_statement(fresh_store: Fresh, tmp_path: Path) -> None:
    together = _together(tmp_path, "postgres", PG_FORMATS)
    spec = [SourceSpec(path=str(together), namespace=PG)]
    urls = []
    for workers in (2, 1):
        url = fresh_store()
        store = open_store(url)
        try:
            crawl(spec, store, stale_after=None, workers=workers)
            assert store.counts()["run"] == 59
        finally:
            store.close()
        urls.append(masked_export(url))
    assert urls[0] == urls[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_and_rolled_back_statements_are_counted_once_whichever_logs_show_them(workers: int,
                                                                                   tmp_path: Path) -> None:
    """The crawl report counts each executed statement that failed or was rolled back once, as
    its runs are counted, not once per log destination, with one process or several."""
    together = _together(tmp_path, "postgres", PG_FORMATS)
    alone = crawl([SourceSpec(path=str(LOGS / "postgres" / "csvlog.csv"), namespace=PG)],
                  open_store(f"sqlite:///{tmp_path / 'one.db'}"), stale_after=None)
    three = crawl([SourceSpec(path=str(together), namespace=PG)], open_store(f"sqlite:///{tmp_path / 'three.db'}"),
                  stale_after=None, workers=workers)
    # workload.POSTGRES_EXPECTED_LINEAGE: 4 failed or aborted and the analyst's syntax error; 4 rolled back
    assert (alone.statements_failed, alone.statements_rolled_back) == (5, 4)
    assert (three.statements_failed, three.statements_rolled_back) == (5, 4)
