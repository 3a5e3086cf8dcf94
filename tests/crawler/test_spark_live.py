"""Run a real PySpark application now and crawl the event log it just wrote (Spark's defaults
of the installed version: rolling zstd logs in 4.x)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard

from crawler import SourceSpec, crawl
from graph import open_store
from parsers.naming import file_ref

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
    # (named as the crawler names any path: pytest's own numbered folders cluster too)
    orders = "dataset:file/" + file_ref(f"{root}/lake/orders/dt=x").name
    assert feeds == {
        (orders, "dataset:spark://default/sales.customer_totals"),
        ("dataset:spark://default/sales.customer_totals", "dataset:spark://default/sales.big_customers"),
    }
    derives = {(edge.src.split("#")[-1], edge.dst.removeprefix("column:")) for edge in store.edges(["DERIVES"])}
    assert {("customer", "spark://default/sales.big_customers#name"),
            ("total", "spark://default/sales.big_customers#total"),
            ("amount", "spark://default/sales.customer_totals#total")} <= derives
    assert report.statements_failed == 1, "the write whose UDF divides by zero"
    assert not [node for node in store.nodes("dataset") if "never_written" in node.name]
    job = store.node("job:spark://default/spark:live_orders_etl")
    assert job is not None and job.props["spark_version"].startswith(("3.5", "4."))
    store.close()
    # (Spark masks a whole command line holding "token"; where it does not, the crawler does.)
    assert b"LIVE-SECRET" not in (tmp_path / "lineage.db").read_bytes()
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}", read_only=True)
    location = store.node("dataset:spark://default/sales.customer_totals").props["location"]
    assert location == f"file://{root}/warehouse/sales.db/customer_totals"
    assert report.issues == 0


def _events_of(events: Path) -> tuple[str, list[bytes]]:
    """The application id and the event lines of the live log (whatever its layout)."""
    (log,) = [path for path in events.rglob("*") if path.is_file() and not path.name.startswith((".", "appstatus"))]
    data = log.read_bytes()
    if log.name.endswith(".zstd"):
        data = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    app = log.name.removeprefix("events_1_").removesuffix(".zstd")
    return app, data.splitlines(keepends=True)


def _frames(lines: list[bytes]) -> bytes:
    """Lines as Spark's zstd codec writes them: one frame per flush, no content size."""
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    return b"".join(compressor.compress(b"".join(lines[i:i + 5])) for i in range(0, len(lines), 5))


def _lineage(url: str) -> tuple[Any, ...]:
    """What a crawl made of a log, but where its evidence says it was read."""
    store = open_store(url, read_only=True)
    try:
        edges = sorted((e.src, e.kind, e.dst, e.count) for e in store.edges() if e.kind != "OF")
        runs = sorted((n.id, n.props.get("status"), n.props.get("statement_kind")) for n in store.nodes("run"))
        return edges, runs
    finally:
        store.close()


@pytest.fixture(scope="module")
def one_crawl(live_log: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    url = f"sqlite:///{tmp_path_factory.mktemp('once') / 'lineage.db'}"
    crawl([SourceSpec(path=str(live_log[0]))], open_store(url))
    return _lineage(url)


@pytest.mark.slow
def test_a_rolling_log_read_part_by_part_gives_what_one_file_gives(live_log: tuple[Path, Path], tmp_path: Path,
                                                                   one_crawl: tuple[Any, ...]) -> None:
    app, lines = _events_of(live_log[0])
    folder = tmp_path / "events" / f"eventlog_v2_{app}"
    folder.mkdir(parents=True)
    (folder / f"appstatus_{app}").touch()
    cuts = [0, len(lines) // 3, 2 * len(lines) // 3, len(lines)]
    for part in range(3):  # Spark rolls between events: parts 2 and 3 start mid-application
        (folder / f"events_{part + 1}_{app}.zstd").write_bytes(_frames(lines[cuts[part]:cuts[part + 1]]))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    report = crawl([SourceSpec(path=str(tmp_path / "events"))], open_store(url))
    assert (report.files, report.issues) == (3, 0)
    assert _lineage(url) == one_crawl


@pytest.mark.slow
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "zstd"])
def test_a_log_crawled_while_written_then_renamed_gives_what_one_crawl_gives(
        compressed: bool, live_log: tuple[Path, Path], tmp_path: Path, one_crawl: tuple[Any, ...]) -> None:
    app, lines = _events_of(live_log[0])
    events = tmp_path / "events"
    events.mkdir()
    suffix = ".zstd" if compressed else ""
    running = events / f"{app}{suffix}.inprogress"
    half = lines[:len(lines) // 2]
    if compressed:  # cut inside a frame, as a reader finds a zstd stream Spark is still writing
        whole = _frames(lines)
        running.write_bytes(whole[:len(_frames(half)) + 7])
    else:
        running.write_bytes(b"".join(half) + lines[len(half)][:20])  # the last line half written
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    first = crawl([SourceSpec(path=str(events))], open_store(url))
    assert first.issues == 0 and first.records > 0
    running.unlink()
    (events / f"{app}{suffix}").write_bytes(_frames(lines) if compressed else b"".join(lines))
    second = crawl([SourceSpec(path=str(events))], open_store(url))
    assert second.issues == 0 and second.already_seen == 0
    assert _lineage(url) == one_crawl
