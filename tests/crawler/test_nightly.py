"""`lineage crawl` as cron runs it: exit statuses in a real subprocess, what the report says was
skipped or held back, progress that never touches stdout."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler import SourceSpec, crawl
from crawler.crawl import Progress
from crawler.render import CrawlProgress
from graph import open_store


def _lineage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def _quiet(path: Path) -> None:
    os.utime(path, (time.time() - 120, time.time() - 120))  # written a while ago: settled


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'lineage.db'}"


def test_all_read_exits_0(tmp_path: Path, store: str) -> None:
    script = tmp_path / "etl.sql"
    script.write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    done = _lineage("crawl", str(script), "--store", store, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"] == 1, "stdout holds the report alone"


def test_records_in_the_quarantine_exit_1(tmp_path: Path, store: str) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"query": "insert into mart.b select * from raw.a"}\n{"query": \n', encoding="utf-8")
    _quiet(trace)
    done = _lineage("crawl", str(trace), "--store", store)
    assert done.returncode == 1, done.stderr
    assert "issues: 1" in done.stdout


@pytest.mark.parametrize("config", ['[[sources]]\npath = "x"\ntype = "kafka"\n', "[[sources]\n"],
                         ids=["unknown type", "not TOML"])
def test_a_configuration_error_exits_2_and_crawls_nothing(config: str, tmp_path: Path, store: str) -> None:
    (tmp_path / "crawl.toml").write_text(config, encoding="utf-8")
    done = _lineage("crawl", "--config", str(tmp_path / "crawl.toml"), "--store", store)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "store").exists()


def test_a_source_that_is_not_there_exits_3(tmp_path: Path, store: str) -> None:
    done = _lineage("crawl", str(tmp_path / "missing"), "--store", store)
    assert done.returncode == 3 and "no such file or directory" in done.stderr


def test_a_file_nothing_of_which_can_be_read_exits_3(tmp_path: Path, store: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "etl.sql").write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    whole = gzip.compress(b"insert into mart.c select * from raw.a;\n" * 2000)
    (logs / "old.sql.gz").write_bytes(whole[:20])  # cut inside its first block
    done = _lineage("crawl", str(logs), "--store", store)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "could not read at all: " in done.stdout and "old.sql.gz" in done.stdout


def test_a_store_that_cannot_be_opened_exits_4(tmp_path: Path) -> None:
    script = tmp_path / "etl.sql"
    script.write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    (tmp_path / "not-a-db").write_bytes(b"this is no SQLite database, but a file of the same name" * 100)
    done = _lineage("crawl", str(script), "--store", f"sqlite:///{tmp_path / 'not-a-db'}")
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("lineage: error: ") and "Traceback" not in done.stderr


def test_the_report_names_the_files_of_no_known_type_and_passes_over_companions(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "etl.sql").write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    (logs / "README.txt").write_text("what these logs are\n", encoding="utf-8")
    (logs / ".etl.sql.crc").write_bytes(b"crc\x00\x01")
    (logs / "_SUCCESS").touch()
    report = crawl([SourceSpec(path=str(logs))], open_store(f"sqlite:///{tmp_path / 'l.db'}"))
    assert (report.files, report.skipped_files) == (1, 1)
    assert [Path(path).name for path in report.skipped_sample] == ["README.txt"]


def test_the_report_says_a_last_entry_was_held_back(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"query": "insert into mart.b select * from raw.a"}\n{"query": "insert in', encoding="utf-8")
    report = crawl([SourceSpec(path=str(trace))], open_store(f"sqlite:///{tmp_path / 'l.db'}"))
    assert report.records == 1 and report.held_back == (str(trace.resolve()),)


def test_progress_goes_to_its_callback_file_by_file(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.sql").write_text(f"insert into mart.{name} select * from raw.x;\n", encoding="utf-8")
    seen: list[Progress] = []
    crawl([SourceSpec(path=str(tmp_path))], open_store(f"sqlite:///{tmp_path / 'l.db'}"), progress=seen.append)
    assert [p.files_done for p in seen] == [1, 2, 3] and seen[-1].bytes_done == seen[-1].bytes > 0
    assert seen[-1].records == 3


def test_logged_progress_is_plain_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with CrawlProgress(every=0.0) as show:
        show(Progress(files_done=1, files=4, bytes_done=25_000_000, bytes=100_000_000, records=5000, seconds=10.0,
                      path="/logs/a.csv"))
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "crawl: 1/4 files, 25.0 of 100.0 MB (25%), 5,000 records (500/s), about 30 s left"


def test_quiet_says_nothing_but_errors(tmp_path: Path, store: str) -> None:
    script = tmp_path / "etl.sql"
    script.write_text("insert into mart.b select * from raw.a;\n", encoding="utf-8")
    done = _lineage("crawl", str(script), "--store", store, "--quiet")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_write_refused_for_a_passing_reason_is_tried_again_then_given_up() -> None:
    import sqlite3

    from crawler.crawl import _retried

    calls: list[int] = []

    def locked_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")
        return "written"

    assert _retried(locked_twice, delays=(0.0, 0.0, 0.0)) == "written" and len(calls) == 3
    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _retried(lambda: locked_twice() if len(calls) < 99 else "", delays=(0.0,))
    assert len(calls) == 2, "tried again once, then given up"

    def full() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("database or disk is full")

    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="full"):
        _retried(full, delays=(0.0, 0.0))
    assert len(calls) == 1, "a full disk is not waited out"
