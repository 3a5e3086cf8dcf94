"""Crawl what real servers just wrote: a PostgreSQL server in all three log destinations and a
MariaDB server in both its logs, after the ELT workload of tests/servers/workload.py (CTEs, temp
tables, MERGE, UPDATE ... FROM, views, prepared statements with parameters, failing statements,
rollbacks, two concurrent sessions). Expected lineage is asserted edge by edge, in each log alone
and in all of a server's logs crawled together (one run per statement however many logs show it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from tests.crawler.test_database_logs import PG_NAMESPACE, crawl_log, feeds, mariadb_feeds_as_logged
from tests.servers import workload


@pytest.mark.slow
@pytest.mark.parametrize("destination", ["stderr", "csvlog", "jsonlog", "all three"])
def test_a_live_postgres_log_gives_the_expected_lineage(destination: str, postgres_logs: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """The search_path, temporary tables (LIKE, LOCAL TEMPORARY AS, SELECT INTO TEMP) and swaps by
    rename of workload.PG_REFRESH_* included; each failed or rolled-back statement counted once."""
    path = next(iter(postgres_logs.values())).parent if destination == "all three" else postgres_logs[destination]
    store, report = crawl_log(path, tmp_path, namespace=PG_NAMESPACE)
    assert feeds(store) == set(workload.POSTGRES_EXPECTED_FEEDS)
    failed = sum(s.count for s in workload.POSTGRES_EXPECTED_LINEAGE if s.outcome in (workload.FAILED,
                                                                                       workload.ABORTED))
    assert report.statements_failed == failed + 1, "and the analyst's syntax error, which names no table"
    assert report.statements_rolled_back == sum(
        s.count for s in workload.POSTGRES_EXPECTED_LINEAGE if s.outcome == workload.ROLLED_BACK)
    assert report.issues_by_code.get("unparseable_sql", 0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("log", ["general", "slow"])
def test_a_live_mariadb_log_gives_the_expected_lineage(log: str, mariadb_logs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """Temporary tables made LIKE another and by CREATE ... SELECT, USE after connecting to a
    database, select_db (COM_INIT_DB) and a RENAME TABLE swap (workload.MARIADB_REFRESH_*) included."""
    store, report = crawl_log(mariadb_logs[log], tmp_path, namespace="mysql://localhost:3306")
    assert feeds(store) == mariadb_feeds_as_logged()
    assert report.issues_by_code.get("unparseable_sql", 0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("destination", ["stderr", "csvlog", "jsonlog", "all three"])
def test_a_live_postgres_log_with_a_long_prefix_gives_the_expected_lineage(
        destination: str, postgres_long_prefix_logs: dict[str, Path], tmp_path: Path) -> None:
    """stderr with `%m [%p] %q%u@%d app=%a client=%h session=%c `, the prefix read back from its
    lines; the three destinations in one directory give the runs and counts of one alone."""
    logs = postgres_long_prefix_logs
    path = next(iter(logs.values())).parent if destination == "all three" else logs[destination]
    store, report = crawl_log(path, tmp_path, namespace=PG_NAMESPACE)
    assert feeds(store) == set(workload.POSTGRES_EXPECTED_FEEDS)
    assert not report.issues_by_code
    alone = open_store(f"sqlite:///{tmp_path / 'csvlog.db'}")
    crawl([SourceSpec(path=str(logs["csvlog"]), namespace=PG_NAMESPACE)], alone)
    counts = {(e.src, e.kind, e.dst): e.count for e in store.edges(["READS", "WRITES", "FEEDS", "DERIVES"])}
    assert counts == {(e.src, e.kind, e.dst): e.count for e in alone.edges(["READS", "WRITES", "FEEDS", "DERIVES"])}
    assert store.counts()["run"] == alone.counts()["run"]
    assert sum(u.count for u in store.usage()) == sum(u.count for u in alone.usage())


@pytest.mark.slow
def test_live_mariadb_general_and_slow_logs_together_give_one_run_per_statement(
        mariadb_logs: dict[str, Path], tmp_path: Path) -> None:
    store, _ = crawl_log(next(iter(mariadb_logs.values())).parent, tmp_path, namespace="mysql://localhost:3306")
    assert feeds(store) == mariadb_feeds_as_logged()
    general, _ = crawl_log(mariadb_logs["general"], tmp_path / "general", namespace="mysql://localhost:3306")
    assert store.counts()["run"] == general.counts()["run"]
    counts = {(e.src, e.kind, e.dst): e.count for e in store.edges(["READS", "WRITES", "FEEDS"])}
    assert counts == {(e.src, e.kind, e.dst): e.count for e in general.edges(["READS", "WRITES", "FEEDS"])}
