"""Crawl what real servers just wrote: a PostgreSQL server in all three log destinations and a
MariaDB server in both its logs, after the ELT workload of tests/servers/workload.py (CTEs, temp
tables, MERGE, UPDATE ... FROM, views, prepared statements with parameters, failing statements,
rollbacks, two concurrent sessions). Expected lineage is asserted edge by edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.test_database_logs import PG_NAMESPACE, crawl_log, feeds, mariadb_feeds_as_logged
from tests.servers import workload


@pytest.mark.slow
@pytest.mark.parametrize("destination", ["stderr", "csvlog", "jsonlog"])
def test_a_live_postgres_log_gives_the_expected_lineage(destination: str, postgres_logs: dict[str, Path],
                                                        tmp_path: Path) -> None:
    store, report = crawl_log(postgres_logs[destination], tmp_path, namespace=PG_NAMESPACE)
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
    store, report = crawl_log(mariadb_logs[log], tmp_path, namespace="mysql://localhost:3306")
    assert feeds(store) == mariadb_feeds_as_logged()
    assert report.issues_by_code.get("unparseable_sql", 0) == 0
