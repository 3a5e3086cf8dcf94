"""Events folded in a worker process and written by another (graph.ingest.prepare /
write_prepared): what crosses the process boundary, and writing it without looking runs up
first, on every backend."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable

import pytest

import graph
from graph.batch import batch_of, facets_json
from graph.errors import RunsAlreadyStoredError
from graph.export import dumps, export
from graph.ingest import pack, prepare, unpack, write_prepared
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


def test_packed_events_unpack_equal_and_pickle_through() -> None:
    found = mixed()
    back = unpack(pickle.loads(pickle.dumps(pack(found), protocol=pickle.HIGHEST_PROTOCOL)))
    assert back == found
    assert [e.run.facets if e.run else None for e in back] == [e.run.facets if e.run else None for e in found]


def test_events_of_one_template_share_one_shape_however_their_empty_parts_were_made() -> None:
    found = events(300)
    # (a parser gives each event its own empty job_facets dict: still one shape per template)
    assert len({id(e.job_facets) for e in found}) > 1
    packed = pack(found)
    assert len(packed.shapes) == len({(id(e.job), id(e.inputs), id(e.outputs), id(e.column_edges), id(e.job_title),
                                      id(e.dataset_facets), id(e.indirect), e.statement_kind) for e in found})
    assert len(packed.shapes) < len(found) / 5


def _exported(store: graph.Store) -> str:
    return dumps(export(store))


def test_prepared_events_write_as_the_events_do(new_store: Factory) -> None:
    found = mixed()
    direct = new_store()  # (on Neo4j each store is the one server's, wiped: one after the other)
    graph.write(direct, found[:150], crawl=1)
    graph.write(direct, found[150:], crawl=1)
    expected = _exported(direct)
    prepared = new_store()
    first = write_prepared(prepared, pickle.loads(pickle.dumps(prepare(found[:150]))), crawl=1)
    second = write_prepared(prepared, pickle.loads(pickle.dumps(prepare(found[150:]))), crawl=1)
    assert (first.written, second.written) == (150, len(found) - 150)
    assert _exported(prepared) == expected


def test_a_prepared_batch_holding_stored_runs_writes_only_the_new_ones(new_store: Factory) -> None:
    found = mixed()

    def crawled(write: Callable[[graph.Store, list[LineageEvent], int], WriteStats]) -> list[object]:
        store = new_store()  # (on Neo4j each store is the one server's, wiped: one after the other)
        graph.write(store, found[100:200], crawl=1)  # (an earlier crawl, or another log of the same server)
        second = write(store, found, 2)
        middle = _exported(store)
        return [second, middle, write(store, found, 3), _exported(store)]

    direct = crawled(lambda store, events, crawl: graph.write(store, events, crawl=crawl))
    assert 0 < direct[0].already_seen < len(found)  # type: ignore[attr-defined]
    assert crawled(lambda store, events, crawl: write_prepared(store, prepare(events), crawl=crawl)) == direct


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



def test_run_facets_encode_alike_cached_or_not() -> None:
    assert facets_json({"application": "psql", "user": "etl"}) == facets_json({"user": "etl", "application": "psql"})
    assert facets_json({"try": 1}) == '{"try": 1}' and facets_json({"try": True}) == '{"try": true}'
    assert facets_json({"params": {"lr": 0.1}}) == '{"params": {"lr": 0.1}}' and facets_json({}) == "{}"
