"""The log harness itself: real servers write the logs the fixtures and parser tests rely on.

These guard against the ground moving (a Debian update changing a log format, a client library
changing how it prepares statements). The server tests skip when the servers or client libraries
are missing, unless LINEAGE_REQUIRE_SERVERS=1 (set it in CI once install.sh runs there).
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from tests.servers import workload

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "querylogs"
REQUIRE = os.environ.get("LINEAGE_REQUIRE_SERVERS") == "1"


@pytest.mark.slow
def test_postgres_stderr_has_the_interesting_cases(postgres_logs: dict[str, Path]) -> None:
    text = postgres_logs["stderr"].read_text()
    assert re.search(r"LOG:  execute _pg3_\d+: SELECT score, recommended_limit FROM ml.credit_scores", text)
    assert "DETAIL:  parameters: $1 = '10002'" in text
    assert "LOG:  execute <unnamed>: SELECT full_name" in text
    assert 'ERROR:  relation "reporting.limit_summary" does not exist' in text
    assert "STATEMENT:  SELEC customer_id, score FRM ml.credit_scores;" in text
    assert "ERROR:  current transaction is aborted" in text
    assert "\n\tUSING raw.customer_erasure_requests AS e\n" in text
    assert "statement: MERGE INTO staging.payment_history" in text
    temp_creator = r"\] (\w+\.\w+):\d+ svc_limits@credit/band-report-\w+ LOG:  statement: CREATE TEMP"
    sessions = set(re.findall(temp_creator, text))
    assert len(sessions) == 2


@pytest.mark.slow
def test_postgres_destinations_log_the_same_statements(postgres_logs: dict[str, Path]) -> None:
    stderr_count = len(re.findall(r" LOG:  (?:statement|execute [^:]+): ", postgres_logs["stderr"].read_text()))
    with postgres_logs["csvlog"].open(newline="") as handle:
        csv_messages = [row[13] for row in csv.reader(handle)]
    json_messages = [json.loads(line)["message"] for line in postgres_logs["jsonlog"].read_text().splitlines()]
    for messages in (csv_messages, json_messages):
        assert sum(bool(re.match(r"(?:statement|execute [^:]+): ", m)) for m in messages) == stderr_count


@pytest.mark.slow
def test_mariadb_logs_have_the_interesting_cases(mariadb_logs: dict[str, Path]) -> None:
    general = mariadb_logs["general"].read_text()
    for command in ("Connect", "Init DB", "Query", "Prepare", "Execute", "Quit"):
        assert re.search(rf"^\s*\d*\s+\d+ {command}\t", general, re.MULTILINE), command
    assert "Connect\tsvc_ingest@127.0.0.1 on raw using TCP/IP" in general
    assert "Query\tINSERT INTO limit_summary (postcode, avg_limit)\nSELECT postcode" in general
    slow = mariadb_logs["slow"].read_text()
    assert re.search(r"^# Time: \d{6}\s+\d{1,2}:\d\d:\d\d$", slow, re.MULTILINE)  # " 0:26:30" before 10 am
    assert "\nuse `staging`;\nSET timestamp=" in slow
    assert len(re.findall(r"^SET timestamp=\d+;$", slow, re.MULTILINE)) > 50


def test_expected_feeds_resolve_temp_tables_per_session() -> None:
    feeds = workload.POSTGRES_EXPECTED_FEEDS
    assert ("credit.raw.credit_inquiries", "credit.staging.credit_inquiries") in feeds
    assert ("credit.ml.credit_scores", "credit.reporting.score_bands") in feeds
    assert ("credit.features.customer_features", "credit.reporting.score_bands") not in feeds
    assert not any("pg_temp" in name for edge in feeds for name in edge)
    assert ("credit.reporting.limit_decisions", "credit.reporting.postcode_limits") not in feeds  # failed
    assert ("features.customer_features", "reporting.income_bands") in workload.MARIADB_EXPECTED_FEEDS


def test_committed_fixtures_are_small_and_complete() -> None:
    expected = ["postgres/stderr.log", "postgres/csvlog.csv", "postgres/jsonlog.json", "postgres/logging.conf",
                "mariadb/general.log", "mariadb/slow.log", "README.md"]
    for name in expected:
        path = FIXTURES / name
        assert path.is_file(), name
        assert 0 < path.stat().st_size < 1024 * 1024, name
