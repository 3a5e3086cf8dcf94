"""Run a real PySpark application now and crawl the event log it just wrote (Spark's defaults
of the installed version: rolling zstd logs in 4.x)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import SourceSpec, crawl
from graph import open_store

JOB = Path(__file__).with_name("spark_live_job.py")


@pytest.fixture(scope="module")
def live_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("spark")
    events = root / "events"
    events.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYSPARK")}
    done = subprocess.run([sys.executable, str(JOB), str(events), str(root), "--token", "LIVE-SECRET-2"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return events, root


@pytest.mark.slow
def test_a_live_spark_application_gives_the_expected_lineage(live_log: tuple[Path, Path], tmp_path: Path) -> None:
    events, root = live_log
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    report = crawl([SourceSpec(path=str(events))], store)
    feeds = {(edge.src, edge.dst) for edge in store.edges(["FEEDS"])}
    orders = f"dataset:file/{root}/lake/orders/{{dt}}"
    assert feeds == {
        (orders, "dataset:spark://default/sales.customer_totals"),
        ("dataset:spark://default/sales.customer_totals", "dataset:spark://default/sales.big_customers"),
    }
    derives = {(edge.src.split("#")[-1], edge.dst.removeprefix("column:")) for edge in store.edges(["DERIVES"])}
    assert {("customer", "spark://default/sales.big_customers#name"),
            ("total", "spark://default/sales.big_customers#total"),
            ("amount", "spark://default/sales.customer_totals#total")} <= derives
    assert report.statements_failed == 1, "the write whose UDF divides by zero"
    assert store.node("dataset:file/" + str(root) + "/lake/never_written") is None
    job = store.node("job:spark://default/spark:live_orders_etl")
    assert job is not None and job.props["spark_version"].startswith(("3.5", "4."))
    store.close()
    # (Spark masks a whole command line holding "token"; where it does not, the crawler does.)
    assert b"LIVE-SECRET" not in (tmp_path / "lineage.db").read_bytes()
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}", read_only=True)
    location = store.node("dataset:spark://default/sales.customer_totals").props["location"]
    assert location == f"file://{root}/warehouse/sales.db/customer_totals"
    assert report.issues == 0
