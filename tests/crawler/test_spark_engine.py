"""Crawls on Spark (`lineage crawl --engine spark`) leave the store as the local engine does: on
the demo (SQL scripts, a query trace, a csvlog, a Spark event log, job logs, MLflow, predictions),
the real query logs and Spark event logs, where one file creates the tables another reads, and
when killed part way and run again (the fixtures on both stores). On Spark `local[2]`, one session
for the module."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler import config as crawl_config
from crawler.cli import main
from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from tests.crawler.conftest import Fresh
from tests.crawler.exports import masked_export
from tests.crawler.test_parallel import PG, killed_part_way, write_killable_logs

if not os.environ.get("LINEAGE_REQUIRE_SERVERS"):  # (make test: pyspark is installed, and a missing one fails)
    pytest.importorskip("pyspark")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One SparkSession for the module (its start-up costs seconds): crawls on the Spark engine
    find it and use it as it is."""
    from crawler.spark_engine import build_session

    session = build_session(MASTER)
    yield session
    session.stop()


def _crawled(url: str, specs: Sequence[SourceSpec], **engine: Any) -> str:
    store = open_store(url)
    try:
        crawl(specs, store, **engine)
        return masked_export(url)
    finally:
        store.close()


def test_the_spark_engine_gives_the_fixtures_as_the_local_one_does(spark: Any, fresh_store: Fresh) -> None:
    specs = [
        *crawl_config.load(FIXTURES / "demo" / "crawl.toml").sources,
        SourceSpec(path=str(FIXTURES / "querylogs" / "postgres"), namespace=PG),
        SourceSpec(path=str(FIXTURES / "querylogs" / "mariadb"), namespace="mysql://localhost:3306"),
        SourceSpec(path=str(FIXTURES / "spark" / "spark-4.x")),
    ]
    local = _crawled(fresh_store(), specs)
    on_spark = _crawled(fresh_store(), specs, engine="spark", spark_master=MASTER)  # (Neo4j: the database, wiped)
    read = set(re.findall(r'"source_type": "(\w+)"', on_spark))
    assert {"sql_file", "sql_trace", "postgres_log", "mysql_general", "spark_eventlog"} <= read, read
    assert on_spark == local


def test_a_file_reading_what_an_earlier_one_created_is_parsed_as_in_order_on_spark(spark: Any,
                                                                                    tmp_path: Path) -> None:
    # The tasks parse the loads beside the CREATE, without its columns: the driver parses them again.
    (tmp_path / "a_create.sql").write_text("CREATE TABLE raw.orders (id int, amount numeric, placed date);\n")
    for name in ("b", "c", "d"):
        (tmp_path / f"{name}_load.sql").write_text(f"INSERT INTO mart.{name} SELECT * FROM raw.orders;\n")
    specs = [SourceSpec(path=str(tmp_path), dialect="postgres", namespace=PG, database="shop")]
    local = _crawled(f"sqlite:///{tmp_path / 'local.db'}", specs)
    assert "shop.mart.d#amount" in local  # SELECT * expanded with the created columns
    assert _crawled(f"sqlite:///{tmp_path / 'spark.db'}", specs, engine="spark", spark_master=MASTER) == local


def test_a_spark_crawl_killed_part_way_and_run_again_gives_the_same_graph(spark: Any, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_killable_logs(logs)
    specs = [SourceSpec(path=str(logs), namespace=PG, dialect="postgres")]
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    partial = killed_part_way(url, ["crawl", str(logs), "--namespace", PG, "--dialect", "postgres", "--stale-after",
                                    "0", "--quiet", "--store", url, "--engine", "spark", "--spark-master", MASTER])
    # Run again on this module's session (the killed one's Spark ended with its driver).
    again = _crawled(url, specs, engine="spark", spark_master=MASTER, stale_after=None)
    reference = _crawled(f"sqlite:///{tmp_path / 'reference.db'}", specs, stale_after=None)
    assert partial != again, "the crawl was killed before it wrote everything"
    assert again == reference


@pytest.mark.parametrize("args", [["--engine", "spark", "--workers", "2"], ["--spark-master", MASTER]],
                         ids=["workers-with-spark", "master-without-spark"])
def test_engine_options_that_do_not_go_together_are_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["crawl", str(FIXTURES / "demo" / "elt"), "--store",
                                       f"sqlite:///{tmp_path / 'x.db'}", *args])
    assert result.exit_code == 2
    assert "--engine" in result.output
    assert not (tmp_path / "x.db").exists()
