"""The nightly-operation examples in docs/nightly/ work as written: the systemd units verify, the
cron line's command runs and treats exit status 1 as success, and PostgreSQL logs rotated by the
logrotate example (run by the real logrotate) are crawled line for line once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler import SourceSpec, crawl
from graph import open_store

ROOT = Path(__file__).resolve().parent.parent
NIGHTLY = ROOT / "docs" / "nightly"
LINEAGE = str(Path(sys.executable).with_name("lineage"))
CSVLOG = ROOT / "fixtures" / "querylogs" / "postgres" / "csvlog.csv"


def _here(text: str, tmp_path: Path) -> str:
    """An example with its install paths pointed at this checkout and a temporary folder."""
    return (text.replace("/opt/lineage/.venv/bin/lineage", LINEAGE).replace("/var/lib/lineage", str(tmp_path))
            .replace("/etc/lineage/crawl.toml", str(tmp_path / "crawl.toml")).replace("User=lineage", "User=root"))


def _config(tmp_path: Path, log: Path) -> None:
    (tmp_path / "crawl.toml").write_text(
        f'store = "sqlite:///{tmp_path / "lineage.db"}"\n\n[[sources]]\npath = "{log}"\n', encoding="utf-8")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    for name in ("lineage-crawl.service", "lineage-crawl.timer"):
        (tmp_path / name).write_text(_here((NIGHTLY / name).read_text(encoding="utf-8"), tmp_path), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "lineage-crawl.service"),
                           str(tmp_path / "lineage-crawl.timer")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    service = (NIGHTLY / "lineage-crawl.service").read_text(encoding="utf-8")
    assert "SuccessExitStatus=1" in service and "--quiet" in service


def test_the_cron_line_runs_and_takes_a_quarantined_crawl_for_success(tmp_path: Path) -> None:
    (line,) = [line for line in (NIGHTLY / "crontab").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#") and "=" not in line.split()[0]]
    minute, hour, day, month, weekday, command = line.split(maxsplit=5)
    assert (minute, hour, day, month, weekday) == ("30", "2", "*", "*", "*")
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"query": "insert into mart.b select * from raw.a"}\n{"query": 5}\n', encoding="utf-8")
    os.utime(trace, (time.time() - 120, time.time() - 120))
    _config(tmp_path, trace)
    done = subprocess.run(["/bin/sh", "-c", _here(command, tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stderr  # the crawl exits 1: one bad line
    assert "lineage: error" not in done.stderr


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed (make test installs it)")
def test_logs_rotated_by_the_logrotate_example_are_crawled_once(tmp_path: Path) -> None:
    logs = tmp_path / "log" / "postgresql"
    logs.mkdir(parents=True)
    lines = CSVLOG.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    while not re.match(rb"\d{4}-\d\d-\d\d \d\d:", lines[half]):
        half += 1  # (a cut between records, as the server writes them: a record may span lines)
    log = logs / "postgresql.csv"
    log.write_bytes(b"".join(lines[:half]))
    conf = (NIGHTLY / "logrotate-postgresql").read_text(encoding="utf-8")
    conf = conf.replace("/var/log/postgresql", str(logs)).replace("create 0640 postgres adm", "create 0640")
    (tmp_path / "logrotate.conf").write_text(conf, encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'rotated.db'}")
    spec = [SourceSpec(path=str(logs), namespace="postgres://db:5432")]
    os.utime(log, (time.time() - 120, time.time() - 120))
    crawl(spec, store)
    for night in range(2):  # two nights: the second compresses the first night's file (delaycompress)
        done = subprocess.run(["logrotate", "--force", "--state", str(tmp_path / f"state{night}"),
                               str(tmp_path / "logrotate.conf")], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        with (logs / "postgresql.csv").open("ab") as fresh:
            fresh.write(b"".join(lines[half:] if night == 0 else []))
        os.utime(logs / "postgresql.csv", (time.time() - 120, time.time() - 120))
        crawl(spec, store)
    assert sorted(path.name for path in logs.iterdir()) == ["postgresql.csv", "postgresql.csv.1",
                                                            "postgresql.csv.2.gz"]
    whole = tmp_path / "whole" / "postgresql.csv"
    whole.parent.mkdir()
    whole.write_bytes(CSVLOG.read_bytes())
    os.utime(whole, (time.time() - 120, time.time() - 120))
    once = open_store(f"sqlite:///{tmp_path / 'once.db'}")
    crawl([SourceSpec(path=str(whole.parent), namespace="postgres://db:5432")], once)
    counted = {(edge.src, edge.kind, edge.dst): edge.count for edge in store.edges(["READS", "WRITES"])}
    assert counted == {(edge.src, edge.kind, edge.dst): edge.count for edge in once.edges(["READS", "WRITES"])}
    assert len(list(store.nodes("run"))) == len(list(once.nodes("run")))
