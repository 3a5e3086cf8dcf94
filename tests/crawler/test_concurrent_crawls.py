"""Crawls started together against one store, as two cron entries or a retry on top of a slow
night would: one writes at a time, the others wait their turn (or give up naming the holder),
and the graph is what one crawl makes, byte for byte. On both backends, as real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler import config as crawl_config
from crawler.crawl import crawl
from graph import open_store
from tests.crawler.conftest import Fresh
from tests.crawler.exports import masked_export

ROUNDS = (2, 3, 2, 3)  # crawls started together, per round
WAIT = ("--wait", "120")


def _crawl_alone(url: str, demo_copy: Path) -> str:
    store = open_store(url)
    try:
        crawl(crawl_config.load(demo_copy / "crawl.toml").sources, store)
    finally:
        store.close()
    return masked_export(url)


def _lineage(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _crawl_args(demo_copy: Path, url: str, *extra: str) -> list[str]:
    return ["crawl", "--config", str(demo_copy / "crawl.toml"), "--store", url, "--json", *extra]


@pytest.mark.slow
def test_crawls_started_together_write_the_graph_once(fresh_store: Fresh, demo_copy: Path) -> None:
    alone = _crawl_alone(fresh_store(), demo_copy)
    for together in ROUNDS:
        url = fresh_store()
        crawls = [_lineage(*_crawl_args(demo_copy, url, *WAIT)) for _ in range(together)]
        outputs = [process.communicate(timeout=180) for process in crawls]
        # one crawl reads the demo (and quarantines its two bad lines: 1), the others find it read (0)
        assert sorted(process.returncode for process in crawls) == [0] * (together - 1) + [1], [e for _, e in outputs]
        written = sorted(json.loads(out)["written"] for out, _ in outputs)
        assert written[:-1] == [0] * (together - 1) and written[-1] > 0, f"{together} crawls wrote {written}"
        assert masked_export(url) == alone, f"{together} crawls together gave another graph than one crawl"


def test_a_crawl_that_finds_the_store_busy_exits_4_naming_the_holder(fresh_store: Fresh, demo_copy: Path) -> None:
    url = fresh_store()
    store = open_store(url)
    try:
        with store.writer_lock():
            process = _lineage(*_crawl_args(demo_copy, url, "--wait", "0"))
            out, err = process.communicate(timeout=120)
    finally:
        store.close()
    assert process.returncode == 4, err
    (line,) = err.splitlines()
    assert line.startswith("lineage: error: ") and "is busy" in line
    assert f"pid {os.getpid()} on {socket.gethostname()}" in line and "--wait" in line
    assert out == "" and "Traceback" not in err


_HOLD = """
import sys, time
from graph import open_store
store = open_store(sys.argv[1])
lock = store.writer_lock()
lock.__enter__()
print("held", flush=True)
time.sleep(600)
"""


def test_the_lock_of_a_killed_writer_is_taken_over(fresh_store: Fresh, demo_copy: Path) -> None:
    url = fresh_store()
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD, url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LINEAGE_LOCK_LEASE": "600"},
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            busy = _lineage(*_crawl_args(demo_copy, url, "--wait", "0"))
            busy.communicate(timeout=120)
            assert busy.returncode == 4
        finally:
            holder.send_signal(signal.SIGKILL)
    # SQLite: the OS let go of the file lock; Neo4j: the lease is not out, but its holder was a
    # process of this host that is gone.
    clock = time.monotonic()
    crawl_ = _lineage(*_crawl_args(demo_copy, url, "--wait", "0"))
    out, err = crawl_.communicate(timeout=120)
    assert crawl_.returncode == 1, err  # (completed; the demo's two bad lines are in the quarantine)
    assert json.loads(out)["written"] > 0 and time.monotonic() - clock < 60


def test_an_import_into_a_busy_store_waits_then_exits_4(tmp_path: Path, demo_store_url: str) -> None:
    exported = tmp_path / "graph.json"
    exported.write_text(masked_export(demo_store_url), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    store = open_store(url)
    try:
        with store.writer_lock():
            clock = time.monotonic()
            busy = _lineage("import", str(exported), "--store", url, "--wait", "1")
            _, err = busy.communicate(timeout=120)
            assert busy.returncode == 4 and "is busy" in err and "after waiting 1 s" in err
            assert time.monotonic() - clock >= 1
    finally:
        store.close()
    loaded = _lineage("import", str(exported), "--store", url)
    assert loaded.communicate(timeout=120)[0].startswith("Loaded") and loaded.returncode == 0
    assert masked_export(url) == exported.read_text(encoding="utf-8")
