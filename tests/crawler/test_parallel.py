"""Crawls with worker processes (`lineage crawl --workers N`) leave the store as one process
does: on the demo, on the real query logs, where one file creates the tables another reads, and
when killed part way and run again. On both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from crawler import config as crawl_config
from crawler import parallel
from crawler.crawl import crawl
from crawler.registry import SourceSpec
from graph import open_store
from parsers import ParseIssue, SourceRecord, catalog, parse
from parsers.catalog import Catalog
from parsers.model import DatasetRef, Origin
from tests.crawler.conftest import Fresh
from tests.crawler.exports import masked_export

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo" / "crawl.toml"
QUERYLOGS = ROOT / "fixtures" / "querylogs"
PG = "postgres://warehouse:5432"

def _crawled(url: str, specs: Sequence[SourceSpec], workers: int) -> str:
    store = open_store(url)
    try:
        crawl(specs, store, workers=workers)
        return masked_export(url)
    finally:
        store.close()


def _querylog_specs() -> list[SourceSpec]:
    return [
        SourceSpec(path=str(QUERYLOGS / "postgres"), namespace=PG),
        SourceSpec(path=str(QUERYLOGS / "mariadb"), namespace="mysql://localhost:3306"),
    ]


def test_two_workers_give_the_demo_and_the_query_logs_as_one_does(fresh_store: Fresh) -> None:
    demo = crawl_config.load(DEMO).sources
    assert _crawled(fresh_store(), demo, 2) == _crawled(fresh_store(), demo, 1)
    logs = _querylog_specs()
    assert _crawled(fresh_store(), logs, 2) == _crawled(fresh_store(), logs, 1)


def test_a_file_reading_what_an_earlier_one_created_is_parsed_as_in_order(tmp_path: Path) -> None:
    # The CREATE is in the first file; files parsed beside it do not see it, and are parsed
    # again before they are written. The same template comes before and after the CREATE is known.
    (tmp_path / "a_create.sql").write_text("CREATE TABLE raw.orders (id int, amount numeric, placed date);\n")
    for name in ("b", "c", "d", "e"):
        (tmp_path / f"{name}_load.sql").write_text(
            f"INSERT INTO mart.orders SELECT * FROM raw.orders;\nINSERT INTO mart.{name} SELECT id FROM raw.orders;\n"
        )
    specs = [SourceSpec(path=str(tmp_path), dialect="postgres", namespace=PG, database="shop")]
    one = _crawled(f"sqlite:///{tmp_path / 'one.db'}", specs, 1)
    assert "shop.mart.orders#amount" in one  # SELECT * expanded with the created columns
    for workers in (2, 3):
        assert _crawled(f"sqlite:///{tmp_path / f'w{workers}.db'}", specs, workers) == one


def test_a_template_parses_by_the_catalog_at_hand_not_the_one_a_cache_saw_first() -> None:
    record = SourceRecord(
        source_type="sql_file",
        origin=Origin(path="/x.sql", line=1, byte_offset=0),
        text="INSERT INTO mart.t SELECT * FROM raw.s",
        dialect="postgres",
        database="shop",
        namespace=PG,
    )
    ref = DatasetRef(namespace=PG, name="shop.raw.s")
    found = []
    for columns in (None, ["a", "b"], None, ["c"]):
        known = Catalog()
        if columns:
            known.add(ref, columns)
        with catalog.using(known):
            events = parse(record).events
        found.append(sorted(edge.target.column for event in events for edge in event.column_edges))
    assert found == [[], ["a", "b"], [], ["c"]]


def _write_csvlog(path: Path, statements: int, first: int) -> None:
    lines = []
    for number in range(first, first + statements):
        session = number % 8
        sql = (
            f"INSERT INTO mart.t{number % 7} SELECT * FROM raw.s{number % 5} WHERE id = {number}"
            if number % 3
            else f"SELECT a, b FROM raw.s{number % 5} WHERE id = {number}"
        )
        stamp = f"2026-11-25 {number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000 UTC"
        lines.append(
            f"{stamp},etl,credit,{4000 + session},127.0.0.1:5000,6b08{session:04x}.fa0,{number},idle,"
            f'2026-11-25 00:00:00 UTC,{session}/1,0,LOG,00000,"statement: {sql}",,,,,,,,,app,'
            "client backend,,0\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    an_hour_ago = time.time() - 3600  # a log no longer written: its sessions' last statements are settled
    os.utime(path, (an_hour_ago, an_hour_ago))


def write_killable_logs(logs: Path) -> None:
    """A schema and six csvlogs of 3,000 statements (each written in one batch) in ``logs``."""
    logs.mkdir()
    (logs / "schema.sql").write_text("CREATE TABLE raw.s1 (id int, a int, b int);\n")
    for part in range(6):
        _write_csvlog(logs / f"postgresql-2026-11-25_{part:02d}0000.csv", 3_000, part * 3_000)


def test_a_crawl_with_workers_killed_part_way_and_run_again_gives_the_same_graph(
    fresh_store: Fresh, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    write_killable_logs(logs)
    args = ["crawl", str(logs), "--namespace", PG, "--dialect", "postgres", "--stale-after", "0", "--quiet"]
    url = fresh_store()
    partial = killed_part_way(url, [*args, "--store", url, "--workers", "2"])
    rerun = subprocess.run([sys.executable, "-m", "crawler", *args, "--store", url, "--workers", "2"], check=False)
    assert rerun.returncode == 0
    again = masked_export(url)
    reference = fresh_store()  # (Neo4j: the same database, wiped: `again` is exported already)
    subprocess.run([sys.executable, "-m", "crawler", *args, "--store", reference, "--workers", "1"], check=True)
    assert partial != again, "the crawl was killed before it wrote everything"
    assert again == masked_export(reference)


def killed_part_way(url: str, arguments: Sequence[str]) -> str:
    """Run ``lineage ARGUMENTS`` (a crawl into ``url``), kill it once it has written two cursors
    of its logs, and return the export it left behind."""
    killed = subprocess.Popen([sys.executable, "-m", "crawler", *arguments],
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    try:
        _wait_for_cursors(url, 2, killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    return masked_export(url)


def _wait_for_cursors(url: str, count: int, process: subprocess.Popen[bytes]) -> None:
    """Until the crawl has written ``count`` cursors of its logs (batches committed)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            store = open_store(url, read_only=True)
            try:
                written = [path for path in store.cursors() if path.endswith(".csv")]
            finally:
                store.close()
        except Exception:  # noqa: BLE001  (the crawl is creating the store)
            written = []
        if len(written) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the crawl wrote no cursors in time (or ended first)")


def _statement(number: int) -> str:
    """The statement a server ran as its ``number``-th: a table created, read with ``SELECT *``,
    dropped and created with other columns, a transaction, and many loads."""
    special = {5: "CREATE TABLE raw.x (a int, b int)", 76: "BEGIN", 82: "COMMIT",
               85: "INSERT INTO mart.y SELECT * FROM raw.x", 250: "DROP TABLE raw.x",
               251: "CREATE TABLE raw.x (c int)", 260: "INSERT INTO mart.z SELECT * FROM raw.x"}
    if number in special:
        return special[number]
    if 76 < number < 82:
        return f"INSERT INTO mart.tx SELECT a FROM raw.x WHERE id = {number}"
    return f"INSERT INTO mart.t{number % 7} SELECT a FROM raw.s{number % 5} WHERE id = {number}"


def _server_log(path: Path, numbers: range) -> None:
    """A csvlog of the statements ``numbers`` of one server (a process per session; the
    transaction's statements in one session)."""
    lines = []
    for number in numbers:
        session = 0 if 76 <= number <= 82 else number % 8
        stamp = f"2026-11-25 {number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000 UTC"
        lines.append(
            f"{stamp},etl,credit,{4000 + session},127.0.0.1:5000,6b08{session:04x}.fa0,{number},idle,"
            f'2026-11-25 00:00:00 UTC,{session}/1,0,LOG,00000,"statement: {_statement(number)}",,,,,,,,,app,'
            "client backend,,0\n")
    path.write_text("".join(lines), encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))


def test_batches_holding_runs_another_log_stored_are_written_as_one_process_writes_them(
    fresh_store: Fresh, tmp_path: Path
) -> None:
    # Two logs of one server: the first holds statements 100-199, the second 0-299. Of the
    # second's batches (40 statements), the one across 100 holds runs the first stored and new
    # ones (read again by the writer, against the catalog as it was there: raw.x with a and b,
    # not with c, as it is by the end of that log); those within 100-199 hold stored runs only.
    logs = tmp_path / "logs"
    logs.mkdir()
    _server_log(logs / "postgresql-a.csv", range(100, 200))
    _server_log(logs / "postgresql-b.csv", range(300))
    specs = [SourceSpec(path=str(logs), namespace=PG)]
    exports, reports = [], []
    for workers in (1, 2):
        url = fresh_store()
        store = open_store(url)
        try:
            reports.append(crawl(specs, store, workers=workers, batch_size=40))
            exports.append(masked_export(url))
        finally:
            store.close()
    one, two = reports
    assert "credit.mart.y#a" in exports[0] and "credit.mart.y#c" not in exports[0]
    assert "credit.mart.z#c" in exports[0]
    assert (two.events, two.written, two.already_seen) == (one.events, one.written, one.already_seen)
    assert one.already_seen == 100
    assert two.timings["read_parse_again"] > 0  # (the batch across 100 was read again)
    assert exports[1] == exports[0]


def _waits_for_its_first_batch_to_be_written(unit: int, flags: Path, emit: parallel.Emit) -> dict[str, Any]:
    """A unit's work (in a worker): a batch, then another once the writer has written the first
    (or after 20 s, saying so)."""
    emit([f"{unit}: first"], [], None)
    flag = flags / f"{unit}.written"
    deadline = time.monotonic() + 20
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    emit([f"{unit}: second, {'after' if flag.exists() else 'before'} the first was written"], [], None)
    return {}


def test_a_units_batches_are_written_as_its_worker_spools_them(tmp_path: Path) -> None:
    written: list[str] = []

    def write(events: list[str], issues: list[ParseIssue], cursor: object, at: object) -> None:
        written.append(events[0])
        (tmp_path / f"{events[0].split(':')[0]}.written").touch()

    def again(unit: int) -> None:
        raise AssertionError(f"unit {unit} parsed again: nothing changed the catalog")

    parallel.run([0, 1, 2], _waits_for_its_first_batch_to_be_written, tmp_path, workers=2, write=write,
                 take=lambda summary: None, again=again, finished=lambda unit: None)
    assert written == [line for unit in range(3)
                       for line in (f"{unit}: first", f"{unit}: second, after the first was written")]


def test_a_worker_imports_what_reading_and_folding_need_and_not_the_graph_walks() -> None:
    # A worker imports the crawl's module (its work is a function of it) and nothing it is sent
    # needs the stores or the walks: networkx and numpy (a quarter of a worker's imports) stay out.
    # (In a fresh interpreter: this one has them from other tests.)
    probe = ("import sys, crawler.crawl, graph\n"
             "print(sorted(m for m in ('networkx', 'numpy', 'graph.sqlite_store') if m in sys.modules))\n"
             "graph.open_store('sqlite:///:memory:')\n"
             "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"  # (the store still opens, its backend imported when asked for)


def test_the_workers_hand_their_batches_runs_over_spooled_and_the_writer_removes_each_spool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (the SQLite store copies a spool's runs in C: see graph.batch.spool_runs; two logs, so two units)
    removed: list[str] = []
    unlink = os.unlink

    def recorded(path: str, *args: Any, **kwargs: Any) -> None:
        removed.append(str(path))
        unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", recorded)
    url = f"sqlite:///{tmp_path / 'spooled.db'}"
    assert _crawled(url, _querylog_specs(), 2) == _crawled(f"sqlite:///{tmp_path / 'one.db'}", _querylog_specs(), 1)
    spools = [Path(path) for path in removed if Path(path).parent.name.startswith("lineage-runs-")]
    assert spools and all(spool.suffix == ".db" for spool in spools)
    assert not any(spool.parent.exists() for spool in spools)  # (the crawl's spool folder is gone too)
