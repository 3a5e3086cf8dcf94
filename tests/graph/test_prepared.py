"""Events folded in a worker process and written by another (graph.ingest.prepare /
write_prepared): what crosses the process boundary, and writing it without looking runs up
first, on every backend."""

from __future__ import annotations

import dataclasses
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

import graph
from graph.batch import Batch, CountRow, Cursor, RunRow, batch_of, facets_json, spool_runs, with_runs
from graph.errors import RunsAlreadyStoredError
from graph.export import dumps, export
from graph.ingest import Prepared, prepare, write_prepared
from graph.model import WriteStats, run_id
from parsers import DatasetEvent, LineageEvent, RunRef
from tests.graph.conftest import Factory
from tests.graph.helpers import ds, event
from tests.graph.test_batch import events


def mixed() -> list[LineageEvent]:
    """Crawled events, plus the odd ones: no run, run facets, a dataset's lifecycle, job facets."""
    found = events(300)
    bare = event("job:x", ["raw.a"], ["mart.b"], run="r1")
    return [*found,
            dataclasses.replace(bare, run=None),
            dataclasses.replace(bare, run=RunRef(run_id="r2", user="ana", status="failed",
                                                 facets={"commit": "abc", "params": {"lr": 0.1}})),
            dataclasses.replace(bare, lifecycle=(DatasetEvent(event="drop", dataset=ds("mart.old")),), run=None),
            dataclasses.replace(bare, job_facets={"spark_version": "4.0"}, run=RunRef(run_id="r3"))]


def _exported(store: graph.Store) -> str:
    return dumps(export(store))


Crossing = Callable[[Prepared], Prepared]


@pytest.fixture(params=["pickled", "spooled"])
def crossed(request: pytest.FixtureRequest, tmp_path: Path) -> Crossing:
    """How a prepared batch crosses from a worker to the writer: pickled whole, or with its runs
    spooled to a SQLite file first (a parallel crawl on this machine: see spool_runs)."""
    def cross(prepared: Prepared) -> Prepared:
        if request.param == "spooled":
            spool_runs(prepared.batch, str(tmp_path / f"{uuid.uuid4().hex}.db"))
            assert prepared.batch.runs_file and not prepared.batch.runs
        return cast(Prepared, pickle.loads(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)))
    return cross


def test_prepared_events_write_as_the_events_do(new_store: Factory, crossed: Crossing) -> None:
    found = mixed()
    direct = new_store()  # (on Neo4j each store is the one server's, wiped: one after the other)
    graph.write(direct, found[:150], crawl=1)
    graph.write(direct, found[150:], crawl=1)
    expected = _exported(direct)
    prepared = new_store()
    first = write_prepared(prepared, crossed(prepare(found[:150])), crawl=1)
    second = write_prepared(prepared, crossed(prepare(found[150:])), crawl=1)
    assert (first.written, second.written) == (150, len(found) - 150)
    assert _exported(prepared) == expected
    assert prepared.counts()["run"] == direct.counts()["run"] > 200  # (the spool's runs counted as they are added)


def test_a_prepared_batch_holding_stored_runs_is_refused_and_leaves_the_store_as_it_was(
        new_store: Factory, crossed: Crossing) -> None:
    found = mixed()
    store = new_store()
    graph.write(store, found[100:200], crawl=1)  # (an earlier crawl, or another log of the same server)
    before = _exported(store)
    with pytest.raises(RunsAlreadyStoredError) as refused:
        write_prepared(store, crossed(prepare(found)), crawl=2)
    assert not refused.value.committed
    assert refused.value.run_ids == {run.id for run in store.nodes(kind="run")}  # (those stored before)
    assert _exported(store) == before
    # (the crawl then writes the events themselves: graph.write drops the stored runs' events)
    assert 0 < graph.write(store, found, crawl=2).already_seen < len(found)


def test_a_batch_with_a_stored_run_is_refused_whole_naming_only_the_runs_stored_before(new_store: Factory) -> None:
    store = new_store()
    graph.write(store, [event("job:a", ["raw.a"], ["mart.a"], run="old")], crawl=1)
    before = _exported(store)
    batch = batch_of([event("job:b", ["raw.b"], ["mart.b"], run="new"),
                      event("job:a", ["raw.a"], ["mart.a"], run="old", line=2)])
    with pytest.raises(RunsAlreadyStoredError) as refused:
        store.apply(batch)
    assert refused.value.run_ids == {run_id("old")}
    assert _exported(store) == before  # nothing of the batch stayed, not even its new run


def test_a_batch_whose_runs_a_write_committed_already_is_told_so_spooled_too(new_store: Factory,
                                                                             tmp_path: Path) -> None:
    # (a commit whose answer was lost, tried again: the store finds the batch written by its token)
    store = new_store()
    batch = batch_of([event("job:a", ["raw.a"], ["mart.a"], run="r1"), event("job:a", ["raw.a"], ["mart.a"], run="r2")])
    batch.token = "t1"
    spool_runs(batch, str(tmp_path / "runs.db"))
    assert batch.run_ids() == {run_id("r1"), run_id("r2")}
    store.apply(batch)
    assert store.counts()["run"] == 2
    with pytest.raises(RunsAlreadyStoredError) as again:
        store.apply(batch)
    assert again.value.committed and again.value.run_ids == batch.run_ids()
    assert with_runs(batch).runs.keys() == batch.run_ids() and with_runs(batch).runs_file is None



def test_run_facets_encode_alike_cached_or_not() -> None:
    assert facets_json({"application": "psql", "user": "etl"}) == facets_json({"user": "etl", "application": "psql"})
    assert facets_json({"try": 1}) == '{"try": 1}' and facets_json({"try": True}) == '{"try": true}'
    assert facets_json({"params": {"lr": 0.1}}) == '{"params": {"lr": 0.1}}' and facets_json({}) == "{}"


def test_a_prepared_batch_whose_runs_are_all_stored_writes_what_adds_no_run_and_its_cursor(
        new_store: Factory, crossed: Crossing) -> None:
    # (another log of the same server, read before: every run of the batch is stored; its DROPs
    # add no run, and are written again, as write writes them)
    found = [e for e in mixed() if e.run is not None]
    cursor = Cursor(path="/logs/stderr.log", offset=4096, line=40, head_length=10, head_digest="h", tail_digest="t",
                    size=8192)

    def crawled(write: Callable[[graph.Store], WriteStats]) -> tuple[WriteStats, str, dict[str, Cursor]]:
        store = new_store()  # (on Neo4j each store is the one server's, wiped: one after the other)
        graph.write(store, found, crawl=1)
        stats = write(store)
        return stats, _exported(store), store.cursors()

    prepared = crawled(lambda store: write_prepared(store, crossed(prepare(found)), [cursor], crawl=2))
    assert 0 < prepared[0].written < prepared[0].already_seen
    assert prepared[2] == {cursor.path: cursor}
    assert prepared == crawled(lambda store: graph.write(store, found, [cursor], crawl=2))


def test_a_batch_pickles_through_equal_with_every_field() -> None:
    batch = prepare(mixed()).batch
    batch.members[("dataset:a", "dataset:a_2026")] = CountRow(node="dataset:a", key="dataset:a_2026", count=2)
    batch.crawl, batch.token = 7, "t"
    assert batch.usage and batch.edges and batch.nodes and batch.runs
    crossed = pickle.loads(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    assert crossed == batch
    # (the runs cross marshalled, and come back as rows: by name as by place)
    assert all(type(run) is RunRow and run.id == key == run[0] for key, run in crossed.runs.items())
    # (a field added to Batch must cross too: its state names every one but the fold's cache)
    assert set(batch.__getstate__()) == {field.name for field in dataclasses.fields(Batch)} - {"_encoded"}
