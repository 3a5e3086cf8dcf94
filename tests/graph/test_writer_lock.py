"""One writer at a time per store, on both backends: the writer lock (who holds it, waiting for
it, taking over a dead holder's) and, beneath it, the run-id check inside the write transaction
that keeps a run's facts from being counted twice by writers that do not take the lock."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import graph
from graph import Store, open_store
from graph.errors import GraphError, StoreBusyError
from graph.export import dumps, export
from graph.locks import Holder
from parsers import LineageEvent
from tests.graph.helpers import event
from tests.graph.neo4j_server import neo4j_url

Handles = Callable[[], Store]


@pytest.fixture(params=["sqlite", "neo4j"])
def handles(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Handles]:
    """Opens handles on one empty store, as separate writers would (Neo4j: leases of 2 s)."""
    monkeypatch.setenv("LINEAGE_LOCK_LEASE", "2")
    url = f"sqlite:///{tmp_path / 'lineage.db'}" if request.param == "sqlite" else neo4j_url(request)
    opened: list[Store] = []

    def open_handle() -> Store:
        store = open_store(url)
        if not opened and request.param == "neo4j":
            store.wipe()  # type: ignore[attr-defined]
        opened.append(store)
        return store

    yield open_handle
    for store in opened:
        store.close()


def _events(runs: int, start: int = 0) -> list[LineageEvent]:
    """Runs of a few jobs over shared tables: every edge, usage row and evidence sample is added to
    by many runs, so a run counted twice shows."""
    jobs = [("j1", ["raw.a"], ["stg.b"]), ("j2", ["stg.b", "raw.c"], ["mart.d"]), ("q", ["mart.d"], [])]
    return [event(*jobs[n % 3], run=f"r{n}", user=f"u{n % 4}", line=n,
                  when=f"2026-11-25T06:{n % 60:02d}:00.000Z") for n in range(start, start + runs)]


def _reference(*batches: list[LineageEvent]) -> str:
    """The export of the batches written one after another by one writer."""
    store = open_store("sqlite:///:memory:")
    for batch in batches:
        graph.write(store, batch)
    return dumps(export(store))


# -- the lock --------------------------------------------------------------------------------

def test_a_second_writer_is_refused_naming_the_holder(handles: Handles) -> None:
    first, second = handles(), handles()
    with first.writer_lock(), pytest.raises(StoreBusyError) as refused, second.writer_lock():
        pass
    message = str(refused.value)
    assert f"pid {os.getpid()} on {socket.gethostname()} since " in message and " s ago)" in message
    with second.writer_lock():  # free again
        pass


def test_writers_racing_for_the_lock_hold_it_one_at_a_time(handles: Handles) -> None:
    writers = [handles() for _ in range(4)]
    start, count = threading.Barrier(len(writers)), threading.Lock()
    holders = [0]
    seen: list[int] = []  # how many held the lock, as each holder found on entry

    def take_turns(store: Store) -> None:
        start.wait(10)
        for _ in range(3):
            with store.writer_lock(wait=60):
                with count:
                    holders[0] += 1
                    seen.append(holders[0])
                time.sleep(0.02)
                with count:
                    holders[0] -= 1

    threads = [threading.Thread(target=take_turns, args=(store,)) for store in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert seen == [1] * 12


def test_the_lock_is_reentrant_on_one_handle(handles: Handles) -> None:
    store, other = handles(), handles()
    with store.writer_lock(), store.writer_lock():
        graph.write(store, _events(3))
    with other.writer_lock():
        pass


def test_a_waiting_writer_gets_the_lock_when_it_is_let_go(handles: Handles) -> None:
    first, second = handles(), handles()
    held, done = threading.Event(), threading.Event()

    def hold_a_while() -> None:
        with first.writer_lock():
            held.set()
            time.sleep(0.6)
        done.set()

    thread = threading.Thread(target=hold_a_while)
    thread.start()
    held.wait(10)
    clock = time.monotonic()
    with second.writer_lock(wait=30):
        assert done.is_set()
    thread.join()
    assert 0.3 < time.monotonic() - clock < 10


def test_a_held_lease_is_renewed_past_its_length(request: pytest.FixtureRequest,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_LOCK_LEASE", "1")
    first, second = open_store(neo4j_url(request)), open_store(neo4j_url(request))
    try:
        first.wipe()  # type: ignore[attr-defined]
        with first.writer_lock():
            time.sleep(2.5)
            with pytest.raises(StoreBusyError), second.writer_lock():
                pass
            graph.write(first, _events(2))
    finally:
        first.close()
        second.close()


def test_a_reader_takes_no_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer = open_store(url)
    with writer.writer_lock():
        reader = open_store(url, read_only=True)
        assert reader.counts() == {}
        with pytest.raises(GraphError, match="read-only"):
            reader.writer_lock()


def test_the_holder_of_a_file_lock_is_in_the_file(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    with store.writer_lock():
        holder = Holder.from_dict(json.loads((tmp_path / "l.db.lock").read_text()))
        assert (holder.host, holder.pid) == (socket.gethostname(), os.getpid())
    assert (tmp_path / "l.db.lock").read_text() == ""


def test_an_expired_lease_of_another_host_is_taken_over(request: pytest.FixtureRequest,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_LOCK_LEASE", "2")
    store = open_store(neo4j_url(request))
    try:
        store.wipe()  # type: ignore[attr-defined]
        # A crawl on another machine that stopped renewing (killed, or cut off) 0.5 s ago.
        store._driver.execute_query(  # type: ignore[attr-defined]
            "MERGE (l:WriterLock {name: 'writer'}) SET l.host = 'etl-elsewhere', l.pid = 4242, "
            "l.started_at = '2026-11-25T06:00:00+00:00', l.command = 'lineage crawl', l.token = 'theirs', "
            "l.expires_at = timestamp() + 1500")
        with pytest.raises(StoreBusyError, match="pid 4242 on etl-elsewhere"), store.writer_lock():
            pass
        clock = time.monotonic()
        with store.writer_lock(wait=10):
            assert 0.5 < time.monotonic() - clock < 5
    finally:
        store.close()


def test_a_writer_that_lost_its_lease_stops_writing(request: pytest.FixtureRequest,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_LOCK_LEASE", "1")
    store = open_store(neo4j_url(request))
    try:
        store.wipe()  # type: ignore[attr-defined]
        with store.writer_lock():
            store._driver.execute_query(  # type: ignore[attr-defined]
                "MATCH (l:WriterLock) SET l.token = 'another writer'")
            time.sleep(0.8)  # a heartbeat (every 0.25 s) finds it gone
            with pytest.raises(GraphError, match="taken over"):
                graph.write(store, _events(1))
    finally:
        store.close()


# -- the run-id check beneath it -------------------------------------------------------------

def test_runs_stored_by_another_writer_after_we_looked_are_not_counted_again(handles: Handles) -> None:
    late, early = handles(), handles()
    late.known_runs = lambda run_ids: set()  # type: ignore[method-assign]  # it looked before `early` wrote
    graph.write(early, _events(30))
    stats = graph.write(late, _events(40))  # the same 30 runs, and 10 new ones
    assert (stats.written, stats.already_seen) == (10, 30)
    assert dumps(export(late)) == _reference(_events(30), _events(10, start=30))


def test_writers_without_the_lock_writing_the_same_runs_at_once_count_each_once(handles: Handles) -> None:
    writers = [handles() for _ in range(3)]
    events = _events(120)
    rounds = [events[:40], events[40:80], events[80:]]
    for batch in rounds:
        start = threading.Barrier(len(writers))
        written: list[int] = []

        def write(store: Store, batch: list[LineageEvent] = batch, start: threading.Barrier = start,
                  written: list[int] = written) -> None:
            store.known_runs = lambda run_ids: set()  # type: ignore[method-assign]  # all look before any writes
            start.wait(10)
            written.append(graph.write(store, batch).written)

        threads = [threading.Thread(target=write, args=(store,)) for store in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(written) == [0, 0, 40]
    assert dumps(export(writers[0])) == _reference(*rounds)
