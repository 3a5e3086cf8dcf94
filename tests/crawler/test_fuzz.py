"""Fuzzed input for every source type and for `lineage sql`: no crash, no hang, every rejection
an issue with a reason. A short, derandomized run here; `make bench` runs bench/fuzz.py, 100,000
inputs per source type. LINEAGE_FUZZ_EXAMPLES=N runs N per type here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.registry import source_types
from tests.crawler.fuzz_inputs import crawl_bytes, inputs, seeds

EXAMPLES = int(os.environ.get("LINEAGE_FUZZ_EXAMPLES", "20"))
SEEDS = seeds()


@pytest.mark.parametrize("source_type", source_types())
def test_fuzzed_input_of_every_source_type_is_read_or_rejected_with_a_reason(source_type: str,
                                                                              tmp_path: Path) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=inputs(source_type, SEEDS))
    def check(data: bytes) -> None:
        crawl_bytes(source_type, data, tmp_path)

    check()


@pytest.mark.parametrize("source_type", ["sql_trace", "postgres_log", "spark_eventlog", "warehouse_history"])
def test_a_zstd_bomb_is_read_in_bounded_time_and_memory(source_type: str, tmp_path: Path) -> None:
    bomb = zstandard.ZstdCompressor(level=3).compress(b"\0" * (256 << 20))  # 256 MB of zeros in ~10 KB
    assert len(bomb) < 100_000
    crawl_bytes(source_type, bomb, tmp_path, "bomb.zst")


@pytest.mark.slow
@pytest.mark.parametrize("source_type", ["sql_file", "sql_trace", "postgres_csvlog", "spark_eventlog", "mysql_general"])
def test_a_single_line_of_20_mb_is_an_issue_not_a_crash(source_type: str, tmp_path: Path) -> None:
    line = b'{"query": "select ' + b"x, " * (7 << 20) + b'1"}\n'
    report = crawl_bytes(source_type, line, tmp_path)
    assert report.issues or report.records <= 1


def test_sql_nested_10000_deep_is_an_issue_not_a_crash(tmp_path: Path) -> None:
    nested = "select " + "(" * 10_000 + "1" + ")" * 10_000 + " from t"
    report = crawl_bytes("sql_file", f"insert into a.b {nested};\n".encode(), tmp_path, "deep.sql")
    assert report.issues_by_code
    done = subprocess.run([sys.executable, "-m", "crawler", "sql", "--jsonl", "-"], capture_output=True, text=True,
                          timeout=120, input=json.dumps({"id": "deep", "sql": nested}) + "\n")
    assert done.returncode == 1 and "Traceback" not in done.stderr  # (1: an input could not be read as SQL)
    assert json.loads(done.stdout)["id"] == "deep"


@settings(max_examples=EXAMPLES * 5, deadline=None, database=None, derandomize=True)
@given(text=st.text(max_size=400) | st.sampled_from(["select (", "'", "/*", "$$", "insert into"]))
def test_lineage_sql_never_raises(text: str) -> None:
    from parsers import NameContext
    from parsers.sql import describe

    describe(text, NameContext.of("postgres"), source_id="fuzz")


@pytest.mark.parametrize("document", [b"[]", b"null", b'"x"', b'{"results": 3}', b'{"results": [3, null]}',
                                      b'{"results": [{"relation_name": "a.b", "compiled_code": "select 1", '
                                      b'"unique_id": "model.x", "timing": [3]}], "metadata": []}'],
                         ids=["list", "null", "string", "results not a list", "results of scalars", "odd shapes"])
def test_a_dbt_run_results_of_the_wrong_shape_is_an_issue(document: bytes, tmp_path: Path) -> None:
    """(Found by bench/fuzz.py: each raised AttributeError out of the crawl.)"""
    report = crawl_bytes("dbt_run_results", document, tmp_path, "run_results.json")
    assert report.issues_by_code.get("bad_json") or report.records == 1


def test_a_mysql_slow_log_time_line_with_more_parts_is_read(tmp_path: Path) -> None:
    """(Found by bench/fuzz.py: '# Time: 261126 13:23:22 x' raised ValueError out of the crawl.)"""
    log = b"# Time: 261126 13:23:22 extra\n# User@Host: u[u] @ localhost []\nSET timestamp=1;\nselect 1;\n"
    crawl_bytes("mysql_slow", log, tmp_path)


@pytest.mark.parametrize(("source_type", "data"), [
    ("postgres_log", b"2026-11-26 13:23:08.076 UTC [22720] LOG:  \n\tstatement: select 1\n"),
    ("postgres_log", b"2026-11-26 13:23:08.076 UTC [22720] LOG:  statement: CREATE FUNCTION f(late numeric) "
                     b"RETURNS double precision LANGUAGE sql AS $$\n\t  SELECT least(0.99, 0.02 * coalesce(late, 0)"
                     b"?\xef\xbf\xbd\x12\xef\xbf\xbdw?#Xb\n\t  - 0.2))\n\t$$;\n"),
    ("openlineage", b'{"eventType": {"a": 1}, "run": {"runId": "r1"}, "job": {"namespace": "n", "name": "j"}}\n'),
    ("mysql_slow", b"# Time: 261126 13:23:22\nSET timestamp=1795699402;\nCREATE FUNCTION ml.limit_fo.0.0.1]\n"),
    ("openlineage", b'{"eventType": "START", "run": {"runId": "r1"}, "job": {"namespace": "n", "name": "j"}, '
                    b'"inputs": [{"namespace": {"x": 1}, "name": "a"}]}\n'
                    b'{"eventType": "COMPLETE", "run": {"runId": "r1"}, "job": {"namespace": "n", "name": "j"}, '
                    b'"inputs": [{"namespace": {"x": 1}, "name": "a"}]}\n'),
    ("postgres_jsonlog", b'{"timestamp": "2026-11-26 13:23:08.076 UTC", "dbname": 5, "session_id": 7, "user": [1], '
                         b'"error_severity": "LOG", "message": "statement: insert into t select * from s"}\n'),
], ids=["stderr entry with an empty message", "sqlglot TypeError inside its parser", "eventType of a wrong type",
        "a routine name of five parts", "a dataset namespace of a wrong type", "jsonlog fields of wrong types"])
def test_inputs_bench_fuzz_found_crashing(source_type: str, data: bytes, tmp_path: Path) -> None:
    """(Each raised out of the crawl: KeyError 'message', TypeError 'Expr object expected; got
    None', TypeError 'unhashable type', ValueError from sqlglot's to_table. Found by bench/fuzz.py.)"""
    crawl_bytes(source_type, data, tmp_path)
