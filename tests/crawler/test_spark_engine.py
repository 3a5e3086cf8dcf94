"""Crawls on Spark (`lineage crawl --engine spark`) leave the store as the local engine does: on
the demo (SQL scripts, a query trace, a csvlog, a Spark event log, job logs, MLflow, predictions),
the real query logs and Spark event logs, where one file creates the tables another reads, and
when killed part way and run again (the fixtures on both stores). On Spark `local[2]`, one session
for the module."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner

from crawler import config as crawl_config
from crawler.cli import main
from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from tests.crawler.conftest import Fresh
from tests.crawler.exports import masked_export
from tests.crawler.test_parallel import PG, _write_csvlog, killed_part_way, write_killable_logs

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


# -- files named by URI, read through Hadoop's filesystems (here file://) ---------------------------


def _uri(path: Path) -> str:
    return f"file://{path}"


def _unprefixed(export: str) -> str:
    """An export with ``file://`` taken off the files named by URI: as a crawl by path names them."""
    return export.replace('"file://', '"').replace("file:///", "/")


def _facts(url: str) -> tuple[Any, ...]:
    """The graph but the ids of its runs (a run's id is taken of the file it was read from, here
    named otherwise) and its times (SQL scripts take the time a crawl first read them): every
    other node and edge, and each run's edges by what they reach."""
    store = open_store(url, read_only=True)
    try:
        nodes = sorted((n.id, n.kind, n.name) for n in store.nodes() if n.kind != "run")
        edges = [(e.src, e.kind, e.dst, e.count) for e in store.edges()]
        plain = sorted(edge for edge in edges if not edge[0].startswith("run:") and not edge[2].startswith("run:"))
        of_runs = sorted((kind, dst, count) for src, kind, dst, count in edges if src.startswith("run:"))
        return nodes, plain, of_runs, store.counts()
    finally:
        store.close()


def test_files_named_by_uri_crawl_on_spark_as_by_path(spark: Any, tmp_path: Path) -> None:
    demo = [spec for spec in crawl_config.load(FIXTURES / "demo" / "crawl.toml").sources if "mlflow" not in spec.path]
    specs = [*demo, SourceSpec(path=str(FIXTURES / "querylogs" / "postgres"), namespace=PG),
             SourceSpec(path=str(FIXTURES / "spark" / "spark-4.x"))]
    by_uri = [dataclasses.replace(spec, path=_uri(Path(spec.path).resolve())) for spec in specs]
    local, on_spark = f"sqlite:///{tmp_path / 'local.db'}", f"sqlite:///{tmp_path / 'spark.db'}"
    _crawled(local, specs)
    export = _crawled(on_spark, by_uri, engine="spark", spark_master=MASTER)
    assert '"file:///' in export and "events_1_local-" in export and "task_id=train_model" in export
    assert _facts(on_spark) == _facts(local)


def test_a_crawl_by_uri_goes_on_from_its_cursors(spark: Any, tmp_path: Path) -> None:
    log = tmp_path / "postgresql.csv"
    whole = tmp_path / "whole" / "postgresql.csv"
    whole.parent.mkdir()
    _write_csvlog(whole, 600, 0)
    lines = whole.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:250]))
    os.utime(log, (whole.stat().st_mtime, whole.stat().st_mtime))
    url, specs = f"sqlite:///{tmp_path / 'spark.db'}", [SourceSpec(path=_uri(log), namespace=PG, dialect="postgres")]
    store = open_store(url)
    try:
        first = crawl(specs, store, engine="spark", spark_master=MASTER, stale_after=None)
        log.write_bytes(whole.read_bytes())  # (the log grew: the next crawl reads the rest)
        os.utime(log, (whole.stat().st_mtime, whole.stat().st_mtime))
        second = crawl(specs, store, engine="spark", spark_master=MASTER, stale_after=None)
        (cursor,) = store.cursors().values()
    finally:
        store.close()
    assert (first.records, second.records) == (250, 350)
    assert (cursor.path, cursor.offset) == (_uri(log), len(whole.read_bytes()))
    log.rename(whole)
    reference = _crawled(f"sqlite:///{tmp_path / 'local.db'}", [SourceSpec(path=str(whole), namespace=PG,
                                                                           dialect="postgres")], stale_after=None)
    assert _unprefixed(masked_export(url)).replace(str(log), str(whole)) == reference


ROLLING_APP = "local-1796459990928"  # (8 SQL executions)


def _rolled(folder: Path, parts: int) -> None:
    """The fixture's event log of ROLLING_APP as Spark rolls it, in 3 parts; the first ``parts``."""
    original = FIXTURES / "spark" / "spark-4.x" / f"eventlog_v2_{ROLLING_APP}" / f"events_1_{ROLLING_APP}.zstd"
    data = zstandard.ZstdDecompressor().stream_reader(original.read_bytes(), read_across_frames=True).read()
    lines = data.splitlines(keepends=True)
    cuts = [0, len(lines) // 3, 2 * len(lines) // 3, len(lines)]
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(parts):  # Spark rolls between events: parts 2 and 3 start mid-application
        chunk = b"".join(lines[cuts[part]:cuts[part + 1]])
        (folder / f"events_{part + 1}_{ROLLING_APP}.zstd").write_bytes(zstandard.ZstdCompressor().compress(chunk))


def _lineage(url: str) -> tuple[Any, ...]:
    """What a crawl made of a log, but where its evidence says it was read."""
    store = open_store(url, read_only=True)
    try:
        edges = sorted((e.src, e.kind, e.dst, e.count) for e in store.edges() if e.kind != "OF")
        return edges, sorted((n.id, n.props.get("status")) for n in store.nodes("run"))
    finally:
        store.close()


def test_a_rolling_event_log_by_uri_is_read_part_by_part_across_crawls(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "events" / f"eventlog_v2_{ROLLING_APP}"
    _rolled(folder, 2)
    url, specs = f"sqlite:///{tmp_path / 'spark.db'}", [SourceSpec(path=_uri(tmp_path / "events"))]
    store = open_store(url)
    try:
        first = crawl(specs, store, engine="spark", spark_master=MASTER, stale_after=None)
        _rolled(folder, 3)  # the third part, begun mid-application: read on with what part 2 left open
        second = crawl(specs, store, engine="spark", spark_master=MASTER, stale_after=None)
    finally:
        store.close()
    assert (first.files, second.files, first.issues, second.issues) == (2, 3, 0, 0)
    reference = f"sqlite:///{tmp_path / 'local.db'}"
    _crawled(reference, [SourceSpec(path=str(FIXTURES / "spark" / "spark-4.x" / f"eventlog_v2_{ROLLING_APP}"))])
    assert _lineage(url) == _lineage(reference)
    assert len(_lineage(url)[1]) > 1


def test_a_uri_without_the_spark_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["crawl", _uri(FIXTURES / "demo" / "elt"), "--store",
                                       f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    assert "--engine spark" in result.output
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("uri", ["file:///no/such/logs", "nosuchfs://cluster/logs"], ids=["missing", "no-filesystem"])
def test_a_uri_that_cannot_be_listed_exits_3_saying_why(spark: Any, tmp_path: Path, uri: str) -> None:
    result = CliRunner().invoke(main, ["crawl", uri, "--store", f"sqlite:///{tmp_path / 'x.db'}", "--engine", "spark"])
    assert result.exit_code == 3, result.output
    assert uri in result.output
    assert "nosuchfs" in result.output if "nosuchfs" in uri else "no such file or directory" in result.output
