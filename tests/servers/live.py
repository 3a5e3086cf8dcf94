"""Live servers for the tests, once per test session: a real PostgreSQL writing all three log
destinations and a real MariaDB writing its general and slow logs, each after the workload."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import mariadb, postgres, workload

REQUIRE = os.environ.get("LINEAGE_REQUIRE_SERVERS") == "1"


def _settled(logs: dict[str, Path]) -> dict[str, Path]:
    """The server has stopped, so its logs are whole: dated a minute back, as a nightly crawl
    finds them (a log written seconds ago may still be growing its last entry)."""
    moment = time.time() - 60
    for path in logs.values():
        os.utime(path, (moment, moment))
    return logs


def _need(server_available: bool, module: str) -> None:
    """Skip (or fail, when servers are required) without the server or its client library."""
    problem = None
    if not server_available:
        problem = "server not installed: run tests/servers/install.sh"
    else:
        try:
            __import__(module)
        except ImportError:
            problem = f"{module} not installed"
    if problem and REQUIRE:
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def postgres_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    _need(postgres.available(), "psycopg")
    logging = postgres.PostgresLogging(destinations=("stderr", "csvlog", "jsonlog"), log_connections=True,
                                       log_disconnections=True)
    with postgres.PostgresServer(logging) as server:
        workload.run_postgres_workload(server)
        yield _settled(server.copy_logs(tmp_path_factory.mktemp("pglogs")))


# A long custom prefix with key=value fields, which none of the usual prefixes reads.
LONG_LINE_PREFIX = "%m [%p] %q%u@%d app=%a client=%h session=%c "


@pytest.fixture(scope="session")
def postgres_long_prefix_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """All three destinations at once, stderr with ``LONG_LINE_PREFIX``."""
    _need(postgres.available(), "psycopg")
    logging = postgres.PostgresLogging(destinations=("stderr", "csvlog", "jsonlog"), log_connections=True,
                                       log_disconnections=True, log_line_prefix=LONG_LINE_PREFIX)
    with postgres.PostgresServer(logging) as server:
        workload.run_postgres_workload(server)
        yield _settled(server.copy_logs(tmp_path_factory.mktemp("pglonglogs")))


@pytest.fixture(scope="session")
def mariadb_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    _need(mariadb.available(), "pymysql")
    with mariadb.MariaDBServer() as server:
        workload.run_mariadb_workload(server)
        yield _settled(server.copy_logs(tmp_path_factory.mktemp("mariadblogs")))


