"""The store contract: the same behaviour on every backend (see conftest: sqlite and neo4j)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

import graph
from graph import AmbiguousNameError, NodeNotFoundError, Store, impact, lineage, resolve, search
from graph.batch import EVIDENCE_SAMPLE, Cursor
from graph.changes import next_crawl
from graph.export import dumps, export, load
from graph.gc import collect
from graph.lineage import applications, impact_page, indirect, owners
from graph.model import IssueFilter
from graph.ranking import update_ranks
from parsers import ColumnEdge, ColumnRef, LineageEvent, ModelRef, Origin, ParseIssue, Served
from tests.graph.conftest import Factory
from tests.graph.helpers import ds, event

# raw.a ─j1─► stg.b ─j2─► mart.c ─j3─► mart.d ;  other.b ─j4─► mart.c ;  mart.c read by query q
CHAIN = [
    event("j1", ["raw.a"], ["stg.b"], run="r1", user="etl"),
    event("j2", ["stg.b"], ["mart.c"], run="r2", user="etl", when="2026-11-20T00:00:00.000Z"),
    event("j3", ["mart.c"], ["mart.d"], run="r3", user="bi"),
    event("j3", ["mart.c"], ["mart.d"], run="r4", user="bi"),
    event("j3", ["mart.c"], ["mart.d"], run="r5", user="etl"),
    event("j4", ["other.b"], ["mart.c"], run="r6", user="etl"),
    event("q", ["mart.c"], [], run="r7", user="ana"),
]


def _names(view: graph.LineageView, kind: str = "dataset") -> set[str]:
    return {n.name for n in view.nodes.values() if n.kind == kind}


@pytest.fixture
def chain(store: Store) -> Store:
    graph.write(store, CHAIN)
    return store


# -- writing -----------------------------------------------------------------------------------

def test_writing_the_same_runs_twice_changes_nothing(store: Store) -> None:
    first = graph.write(store, CHAIN)
    before = dumps(export(store))
    second = graph.write(store, CHAIN)
    assert (first.written, second.written, second.already_seen) == (7, 0, 7)
    assert dumps(export(store)) == before


def test_a_run_repeated_within_one_batch_counts_once(store: Store) -> None:
    stats = graph.write(store, [CHAIN[0], CHAIN[0]])
    assert (stats.written, stats.already_seen) == (1, 1)
    (reads,) = store.edges(["READS"])
    assert reads.count == 1


def test_each_new_run_counts_and_widens_the_time_span(store: Store) -> None:
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1", when="2026-11-25T06:00:00.000Z")])
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r2", when="2026-11-24T06:00:00.000Z"),
                        event("j1", ["raw.a"], ["stg.b"], run="r3", when=None)])  # type: ignore[arg-type]
    (feeds,) = store.edges(["FEEDS"])
    assert (feeds.count, feeds.first_seen, feeds.last_seen) == (3, "2026-11-24T06:00:00.000Z",
                                                                 "2026-11-25T06:00:00.000Z")
    assert sorted(e.kind for e in store.edges()) == ["FEEDS", "OF", "OF", "OF", "READS", "WRITES"]
    (job,) = store.nodes("job")
    assert (job.first_seen, job.last_seen, job.label) == ("2026-11-24T06:00:00.000Z", "2026-11-25T06:00:00.000Z",
                                                          "INSERT stg.b")


def _titled(job: str, title: str, run: str, user: str = "svc", application: str | None = None) -> LineageEvent:
    base = event(job, ["raw.a"], ["stg.b"], run=run, user=user)
    assert base.run is not None
    facets = {"application": application} if application else {}
    return dataclasses.replace(base, job_title=title, run=dataclasses.replace(base.run, facets=facets))


def test_no_two_jobs_share_a_label_and_a_job_keeps_its_label(store: Store) -> None:
    """Templates with the same title are numbered in the order the store first saw them, within
    a batch and across batches; a job seen again (even under another title) keeps its label, so
    labels do not change from crawl to crawl."""
    graph.write(store, [_titled("j1", "INSERT stg.b from raw.a", "r1"), _titled("j2", "INSERT stg.b from raw.a", "r2")])
    graph.write(store, [_titled("j3", "INSERT stg.b from raw.a", "r3"), _titled("j1", "INSERT stg.b from raw.a", "r4"),
                        _titled("j2", "INSERT stg.b", "r5"), _titled("j4", "INSERT stg.b", "r6")])
    graph.write(store, [_titled("j5", "INSERT stg.b from raw.a (2)", "r7")])
    labels = {n.name: n.label for n in store.nodes("job")}
    assert labels == {"j1": "INSERT stg.b from raw.a", "j2": "INSERT stg.b from raw.a (2)",
                      "j3": "INSERT stg.b from raw.a (3)", "j4": "INSERT stg.b",
                      "j5": "INSERT stg.b from raw.a (2) (2)"}
    assert resolve(store, "INSERT stg.b from raw.a (3)").name == "j3"


def test_a_job_is_owned_by_the_users_who_run_it_and_lists_its_applications(store: Store) -> None:
    first = _titled("j1", "INSERT stg.b from raw.a", "r1", user="etl", application="nightly")
    again = [dataclasses.replace(first, run=dataclasses.replace(first.run, run_id=f"r{i}", user=user,
                                                                 facets={"application": app}))
             for i, (user, app) in enumerate([("etl", "nightly"), ("ana", "notebook"), ("etl", "nightly")], 2)
             if first.run is not None]  # one template repeated: folded as a span
    graph.write(store, [first, *again])
    job = "job:postgres://warehouse:5432/j1"
    usage = {(u.user, u.role): u.count for u in store.usage(job)}
    assert usage == {("etl", "run"): 3, ("ana", "run"): 1, ("nightly", "application"): 3,
                     ("notebook", "application"): 1}
    assert owners(store, job) == ("etl", "ana")
    assert applications(store, job) == ("nightly", "notebook")
    (row,) = [r for r in impact(store, resolve(store, "raw.a").id) if r.node.kind == "job"]
    assert row.owners == ("etl", "ana")


def test_evidence_is_a_capped_sample_of_the_first_runs_across_batches(store: Store) -> None:
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run="r1", line=1)])
    graph.write(store, [event("j1", ["raw.a"], ["stg.b"], run=f"r{i}", line=i) for i in range(2, 9)])
    (reads,) = store.edges(["READS"])
    evidence = store.evidence(reads.key)
    assert reads.count == 8
    assert [e.origin.line for e in evidence] == list(range(1, EVIDENCE_SAMPLE + 1))
    assert evidence[0].sql == "-- j1"


def test_usage_counts_readers_and_writers(chain: Store) -> None:
    usage = {(u.user, u.role): u.count for u in chain.usage("dataset:postgres://warehouse:5432/mart.c")}
    assert usage == {("etl", "write"): 2, ("bi", "read"): 2, ("etl", "read"): 1, ("ana", "read"): 1}


def test_details_of_a_page_are_its_nodes_edges_and_usage_at_once(chain: Store) -> None:
    ids = ["dataset:postgres://warehouse:5432/mart.c", "job:postgres://warehouse:5432/j2",
           "dataset:postgres://warehouse:5432/no.such"]
    details = chain.details(ids, outgoing=["WRITES"], incoming=["READS"])
    assert sorted(n.id for n in details.nodes) == sorted(n.id for n in chain.nodes(ids=ids)) == sorted(ids[:2])
    edges = chain.neighbors(ids, outgoing=["WRITES"], incoming=["READS"])
    assert sorted(e.key for e in details.edges) == sorted(e.key for e in edges) and edges
    assert sorted(details.usage, key=repr) == sorted(chain.usage(ids=ids), key=repr)
    assert chain.details([], outgoing=["READS"]).nodes == []
    assert chain.details(ids[:1]).edges == []


def test_neighbors_crossing_are_those_whose_key_it_holds_for_live_ones_only(chain: Store) -> None:
    ids = ["dataset:postgres://warehouse:5432/mart.c", "job:postgres://warehouse:5432/j2",
           "job:postgres://warehouse:5432/j3", "dataset:postgres://warehouse:5432/stg.b"]
    every = chain.neighbors(ids, outgoing=["WRITES", "READS"], incoming=["READS", "WRITES"])
    reads = [edge for edge in every if edge.kind == "READS"]
    assert reads and len(reads) < len(every)
    removed = reads[0]
    chain.remove([removed.key], [], "2026-11-26T00:00:00.000Z")

    def crossing(key: tuple[str, str, str]) -> bool:
        return key[1] == "READS"

    found = chain.neighbors(ids, outgoing=["WRITES", "READS"], incoming=["READS", "WRITES"], crossing=crossing)
    live = chain.neighbors(ids, outgoing=["WRITES", "READS"], incoming=["READS", "WRITES"])
    assert sorted(found, key=repr) == sorted((e for e in live if e.kind == "READS"), key=repr)
    assert {e.key for e in found} == {e.key for e in reads} - {removed.key}, "whole edges, of the keys it holds for"
    past = chain.neighbors(ids, outgoing=["READS"], incoming=["READS"], crossing=crossing, include_removed=True)
    assert removed.key in {e.key for e in past if e.removed_at}


def test_edge_keys_are_those_of_the_live_neighbors(chain: Store) -> None:
    ids = ["dataset:postgres://warehouse:5432/mart.c", "job:postgres://warehouse:5432/j3"]
    ways = {"outgoing": ["READS"], "incoming": ["WRITES"]}
    keys = chain.edge_keys(ids, **ways)
    assert len(keys) >= 3 and sorted(keys) == sorted(edge.key for edge in chain.neighbors(ids, **ways))
    chain.remove([keys[0]], [], "2026-11-26T00:00:00.000Z")
    assert sorted(chain.edge_keys(ids, **ways)) == sorted(keys[1:]), "live edges only"
    assert chain.edge_keys([], **ways) == [] and chain.edge_keys(ids) == []


def test_edges_seen_are_the_live_neighbors_keys_with_their_last_seen(chain: Store) -> None:
    ids = ["dataset:postgres://warehouse:5432/mart.c", "job:postgres://warehouse:5432/j3"]
    ways = {"outgoing": ["READS"], "incoming": ["WRITES"]}
    seen = chain.edges_seen(ids, **ways)
    edges = chain.neighbors(ids, **ways)
    assert len(seen) >= 3 and sorted(seen) == sorted((*e.key, e.last_seen) for e in edges)
    assert {last for *_, last in seen} == {"2026-11-20T00:00:00.000Z", "2026-11-25T06:00:00.000Z"}
    chain.remove([seen[0][:3]], [], "2026-11-26T00:00:00.000Z")
    assert sorted(chain.edges_seen(ids, **ways)) == sorted(seen[1:]), "live edges only"
    assert chain.edges_seen([], **ways) == [] and chain.edges_seen(ids) == []


def test_runs_are_nodes_of_their_job(chain: Store) -> None:
    run = chain.node("run:r3")
    assert run is not None and run.kind == "run"
    assert run.props["job"] == "job:postgres://warehouse:5432/j3" and run.props["user"] == "bi"
    assert len(list(chain.nodes("run"))) == 7


def test_a_runs_facets_are_kept_and_exported(new_store: Factory) -> None:
    """What a source says of an execution (code version, hyperparameters, metrics) stays on its run."""
    facets = {"code_version": "3f2a9c1", "params": {"max_depth": "6", "eta": "0.1"}, "metrics": {"auc": 0.81}}
    trained = dataclasses.replace(CHAIN[0], run=dataclasses.replace(CHAIN[0].run, facets=facets))
    source = new_store()
    graph.write(source, [trained, *CHAIN[1:]])
    run = source.node("run:r1")
    assert run is not None and {key: run.props[key] for key in facets} == facets and run.props["user"] == "etl"
    assert "code_version" not in source.node("run:r2").props
    target = new_store()
    load(target, export(source))
    assert dumps(export(target)) == dumps(export(source))


def test_issues_are_stored_once(store: Store) -> None:
    issue = ParseIssue(code="bad_json", message="not JSON", origin=Origin(path="/q.jsonl", line=3, byte_offset=90))
    assert store.add_issues([issue, issue]) == 1
    assert store.add_issues([issue]) == 0
    assert store.issues() == [issue]


def test_cursors_keep_where_a_file_was_left_and_what_was_open_there(store: Store) -> None:
    cursor = Cursor(path="/logs/pg.log", offset=120, line=7, head_length=64, head_digest="h", tail_digest="t",
                    size=200, state='{"sessions":{"6b08.58ca":{"defaults":{"schema":"reporting"}}}}')
    graph.write(store, [], [cursor])
    assert store.cursors() == {"/logs/pg.log": cursor}
    moved = dataclasses.replace(cursor, offset=200, line=9, state="{}")
    graph.write(store, [], [moved])
    assert store.cursors() == {"/logs/pg.log": moved}


def test_generation_moves_only_when_something_is_written(store: Store) -> None:
    start = store.generation()
    graph.write(store, CHAIN[:1])
    moved = store.generation()
    graph.write(store, CHAIN[:1])
    assert start < moved == store.generation()


def test_clustered_datasets_keep_their_members(store: Store) -> None:
    day1 = ds("events_{date}").__class__(namespace="s3://lake", name="events/{dt}", member="events/dt=2026-11-01")
    day2 = day1.__class__(namespace="s3://lake", name="events/{dt}", member="events/dt=2026-11-02")
    graph.write(store, [event("load", [], [], run="x0")])
    batch = [event("load", ["raw.a"], ["stg.b"], run="x1", when="2026-11-01T00:00:00.000Z")]
    graph.write(store, [batch[0].__class__(**{**_fields(batch[0]), "outputs": (day1,)}),
                        batch[0].__class__(**{**_fields(batch[0]), "outputs": (day2,), "run": _run("x2")}),
                        batch[0].__class__(**{**_fields(batch[0]), "outputs": (day2,), "run": _run("x3")})])
    (cluster,) = [n for n in store.nodes("dataset") if n.namespace == "s3://lake"]
    assert cluster.name == "events/{dt}"
    members = {m.name: m.count for m in store.members(cluster.id)}
    assert members == {"events/dt=2026-11-01": 1, "events/dt=2026-11-02": 2}


def _fields(value: object) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__dataclass_fields__}  # type: ignore[attr-defined]


def _run(run_id: str) -> object:
    from parsers import RunRef
    return RunRef(run_id=run_id, started_at="2026-11-02T00:00:00.000Z", user="etl")


def test_columns_and_model_provenance(store: Store) -> None:
    base = event("train", ["ml.training_set"], [], run="t1")
    columns = (ColumnEdge(source=ColumnRef(dataset=ds("raw.a"), column="income"),
                          target=ColumnRef(dataset=ds("stg.b"), column="income_band"), kind="direct"),)
    graph.write(store, [
        base.__class__(**{**_fields(base), "produced": (ModelRef(name="credit-limit", version="7"),)}),
        base.__class__(**{**_fields(CHAIN[0]), "column_edges": columns}),
    ])
    version = store.node("model_version:credit-limit/7")
    assert version is not None and version.kind == "model_version"
    kinds = {e.kind for e in store.edges()}
    assert {"TRAINED_ON", "PRODUCED", "OF", "IN", "DERIVES"} <= kinds
    up = lineage(store, version.id, "upstream")
    assert _names(up) == {"ml.training_set"}
    col = "column:postgres://warehouse:5432/stg.b#income_band"
    assert set(lineage(store, col, "upstream").nodes) == {col, "column:postgres://warehouse:5432/raw.a#income"}
    (derives,) = store.edges(["DERIVES"])
    assert derives.props == {"direct": True}


def test_a_registration_links_the_version_to_its_training_run_and_data(new_store: Factory) -> None:
    """A model version recorded apart from its training run (an MLflow registration): PRODUCED by
    that run, TRAINED_ON its data, the registry's facts on the version; through export and import."""
    training = event("train", ["ml.training_set"], [], run="t1")
    version = ModelRef(name="limits", version="3", produced_by="t1", trained_on=(ds("ml.training_set"),),
                       facets={"aliases": ["champion"], "stage": "Production", "registered_at": "2026-11-26"})
    registration = dataclasses.replace(event("register", [], [], run="reg-3"), produced=(version,))
    source = new_store()
    graph.write(source, [training, registration])
    node = source.node("model_version:limits/3")
    assert node is not None and node.props["aliases"] == ["champion"] and node.props["version"] == "3"
    assert node.props["stage"] == "Production"
    edges = {(e.src, e.kind, e.dst) for e in source.edges()}
    assert ("run:t1", "PRODUCED", node.id) in edges and ("run:reg-3", "PRODUCED", node.id) not in edges
    assert (node.id, "TRAINED_ON", "dataset:postgres://warehouse:5432/ml.training_set") in edges
    assert not any(kind == "READS" and dst == "job:postgres://warehouse:5432/register" for _, kind, dst in edges)
    target = new_store()
    load(target, export(source))
    assert dumps(export(target)) == dumps(export(source))


def _serving(version: str, log: str, run: str) -> LineageEvent:
    return dataclasses.replace(
        event(f"serve{version}", [], [log], run=run),
        served=(Served(model=ModelRef(name="limits", version=version), count=5, first="2026-11-25T06:00:00.000Z",
                       last="2026-11-25T07:00:00.000Z"),))


def test_served_unproduced_are_the_serving_edges_of_versions_no_live_run_produced(store: Store) -> None:
    trained = [dataclasses.replace(event("train", ["ml.set"], [], run=f"t{v}"),
                                   produced=(ModelRef(name="limits", version=v),)) for v in ("1", "2")]
    serving = [_serving("1", "ml.log_a", "s1"), _serving("2", "ml.log_a", "s2"), _serving("3", "ml.log_a", "s3"),
               _serving("3", "ml.log_b", "s4"), _serving("4", "ml.log_b", "s5")]
    graph.write(store, [*trained, *serving])
    assert store.served_unproduced() == [e for e in store.edges(["SERVED"]) if e.src.endswith(("/3", "/4"))]
    # Version 2's training edge is collected, and version 4 no longer serves: 2 and 3 are left.
    store.remove([("run:t2", "PRODUCED", "model_version:limits/2"),
                  ("model_version:limits/4", "SERVED", "dataset:postgres://warehouse:5432/ml.log_b")], [],
                 "2026-11-26T00:00:00.000Z")
    found = [(e.src.removeprefix("model_version:"), e.dst.rsplit("/", 1)[-1]) for e in store.served_unproduced()]
    assert found == [("limits/2", "ml.log_a"), ("limits/3", "ml.log_a"), ("limits/3", "ml.log_b")]


# -- queries -----------------------------------------------------------------------------------

def test_upstream_follows_jobs_back_to_the_sources(chain: Store) -> None:
    root = resolve(chain, "mart.d").id
    view = lineage(chain, root, "upstream")
    assert _names(view) == {"mart.d", "mart.c", "stg.b", "other.b", "raw.a"}
    assert {view.nodes[k].name: d for k, d in view.distance.items() if view.nodes[k].kind == "dataset"} == {
        "mart.d": 0, "mart.c": 1, "stg.b": 2, "other.b": 2, "raw.a": 3}
    assert {e.kind for e in view.edges} == {"READS", "WRITES"}


def test_depth_counts_jobs(chain: Store) -> None:
    root = resolve(chain, "mart.d").id
    assert _names(lineage(chain, root, "upstream", depth=1)) == {"mart.d", "mart.c"}
    assert _names(lineage(chain, root, "upstream", depth=2)) == {"mart.d", "mart.c", "stg.b", "other.b"}


def test_downstream_includes_readers_that_write_nothing(chain: Store) -> None:
    view = lineage(chain, resolve(chain, "raw.a").id, "downstream")
    assert _names(view) == {"raw.a", "stg.b", "mart.c", "mart.d"}
    assert _names(view, "job") == {"j1", "j2", "j3", "q"}


def test_walks_see_the_graph_as_it_is_after_each_write(chain: Store) -> None:
    """A store that walks a traversal index (the embedded one; Neo4j with traversal=memory, or
    auto from the second walk of a generation) must not walk a graph that has changed since."""
    root = resolve(chain, "raw.a").id
    for _ in range(2):
        assert _names(lineage(chain, root, "downstream")) == {"raw.a", "stg.b", "mart.c", "mart.d"}
    graph.write(chain, [event("j4", ["mart.d"], ["mart.e"], run="r9")])
    for _ in range(2):
        assert _names(lineage(chain, root, "downstream")) == {"raw.a", "stg.b", "mart.c", "mart.d", "mart.e"}
    reads = ("dataset:postgres://warehouse:5432/mart.d", "READS", "job:postgres://warehouse:5432/j4")
    chain.remove([reads], [], "2026-12-01T00:00:00.000Z")
    assert _names(lineage(chain, root, "downstream")) == {"raw.a", "stg.b", "mart.c", "mart.d"}


def test_kind_filter_keeps_the_root_and_the_kind(chain: Store) -> None:
    view = lineage(chain, resolve(chain, "raw.a").id, "downstream", kinds={"job"})
    assert {n.kind for n in view.nodes.values()} == {"job", "dataset"}
    assert _names(view) == {"raw.a"}


def test_indirect_reads_are_marked_and_a_walk_may_leave_them_out(store: Store) -> None:
    # DELETE FROM mart.c USING gdpr.erasures: the erasures decide which rows go, give no values.
    purge = dataclasses.replace(event("purge", ["gdpr.erasures", "mart.c"], ["mart.c"], run="p1"),
                                indirect=(ds("gdpr.erasures"),))
    # ... and feeds mart.d directly, through another job.
    graph.write(store, [*CHAIN, purge, event("copy", ["gdpr.erasures"], ["mart.d"], run="c1")])
    reads = {(e.src.rsplit("/", 1)[1], e.dst.rsplit("/", 1)[1]): e.props for e in store.edges(["READS"])}
    assert reads[("gdpr.erasures", "purge")] == {"indirect": True}
    assert reads[("raw.a", "j1")] == {}
    feeds = {(e.src.rsplit("/", 1)[1], e.dst.rsplit("/", 1)[1]): e.props for e in store.edges(["FEEDS"])}
    assert feeds[("gdpr.erasures", "mart.c")] == {"indirect": True}
    assert feeds[("raw.a", "stg.b")] == {"direct": True}
    root = resolve(store, "mart.c").id
    assert "gdpr.erasures" in _names(lineage(store, root, "upstream"))
    direct = lineage(store, root, "upstream", direct_only=True)
    assert _names(direct) == {"mart.c", "stg.b", "raw.a", "other.b"}
    assert not [e for e in direct.edges if indirect(e)]
    downstream = lineage(store, resolve(store, "gdpr.erasures").id, "downstream", direct_only=True)
    assert _names(downstream) == {"gdpr.erasures", "mart.d"}


def test_impact_lists_distance_last_use_and_owners(chain: Store) -> None:
    rows = impact(chain, resolve(chain, "stg.b").id)
    by_name = {(r.node.kind, r.node.name): r for r in rows}
    assert by_name["dataset", "mart.c"].distance == 1
    assert by_name["dataset", "mart.d"].distance == 2
    assert by_name["dataset", "mart.d"].owners == ("bi", "etl")
    assert by_name["dataset", "mart.c"].owners == ("etl",)
    assert by_name["job", "j2"].last_seen == "2026-11-20T00:00:00.000Z"
    assert [r.distance for r in rows] == sorted(r.distance for r in rows)
    assert ("dataset", "other.b") not in by_name


def test_impact_within_a_depth_and_its_first_page(chain: Store) -> None:
    root = resolve(chain, "raw.a").id
    every = impact(chain, root)
    assert [r.distance for r in every] == [1, 1, 2, 2, 3, 3, 3]
    assert [(r.node.kind, r.node.name) for r in every[:2]] == [("dataset", "stg.b"), ("job", "j1")]
    assert impact(chain, root, 2) == every[:4]
    assert impact(chain, root, limit=3) == every[:3]
    assert impact(chain, root, 1, limit=10) == every[:2]


@pytest.mark.parametrize("depth", [1, 2, None])
def test_the_live_graph_and_the_graph_as_of_now_walk_alike(chain: Store, depth: int | None) -> None:
    for name, direction in (("raw.a", "downstream"), ("mart.d", "upstream"), ("mart.c", "downstream")):
        root = resolve(chain, name).id
        now = lineage(chain, root, direction, depth)
        walked = lineage(chain, root, direction, depth, as_of="2999-01-01T00:00:00.000Z")
        assert now.distance == walked.distance
        assert sorted(e.key for e in now.edges) == sorted(e.key for e in walked.edges)


def test_path_between_two_nodes_either_way(chain: Store) -> None:
    a, d = resolve(chain, "raw.a").id, resolve(chain, "mart.d").id
    assert [n.name for n in graph.path(chain, a, d)] == ["raw.a", "j1", "stg.b", "j2", "mart.c", "j3", "mart.d"]
    assert [n.name for n in graph.path(chain, d, a)][0] == "raw.a"
    assert graph.path(chain, a, resolve(chain, "other.b").id) == []


def test_resolve_takes_tails_ids_and_full_names(chain: Store) -> None:
    d = resolve(chain, "d")
    assert d.name == "mart.d"
    assert resolve(chain, d.id) == d
    assert resolve(chain, "postgres://warehouse:5432/mart.d") == d


@pytest.mark.parametrize("table", ["dbo.#paid", "dbo.##all", "dbo.cost$", "dbo.@v", "dbo.my table",
                                   "dbo.a.b", "dbo.x#y"])
def test_resolve_takes_any_character_a_quoted_or_dialect_name_holds(store: Store, table: str) -> None:
    """``#`` (T-SQL temporary names, a column's separator here), ``$``, ``@``, spaces and the dots
    of a quoted part are all part of a name: its full name and every dotted tail find it, and
    TABLE#COLUMN finds its columns, whatever the table's name holds."""
    column = ColumnEdge(source=ColumnRef(dataset=ds("raw.a"), column="amount"),
                        target=ColumnRef(dataset=ds(table), column="a#mt"), kind="direct")
    graph.write(store, [dataclasses.replace(event("j", ["raw.a"], [table], run="r1"), column_edges=(column,))])
    wanted = store.node(f"dataset:postgres://warehouse:5432/{table}")
    assert wanted is not None
    parts = table.split(".")
    for tail in {".".join(parts[i:]) for i in range(len(parts))} | {f"postgres://warehouse:5432/{table}"}:
        assert resolve(store, tail) == wanted, tail
    assert resolve(store, ".".join(f'"{part}"' for part in (parts[0], ".".join(parts[1:])))) == wanted
    found = resolve(store, f"{table}#a#mt")
    assert found.id == f"column:postgres://warehouse:5432/{table}#a#mt"
    with pytest.raises(NodeNotFoundError):
        resolve(store, f"{table}#nope")


def test_resolve_refuses_ambiguous_and_unknown_names(chain: Store) -> None:
    with pytest.raises(AmbiguousNameError, match="matches 2 nodes"):
        resolve(chain, "b")
    with pytest.raises(NodeNotFoundError, match="did you mean mart.c"):
        resolve(chain, "mart.cc")


def test_search_ranks_exact_names_first_then_by_pagerank(chain: Store) -> None:
    update_ranks(chain)
    assert {n.name for n in search(chain, "b", kind="dataset")} == {"stg.b", "other.b"}
    assert [n.name for n in search(chain, "c")][0] == "mart.c", "an exact tail beats a name containing it"
    assert [n.name for n in search(chain, "mart", kind="dataset")] == ["mart.c", "mart.d"]
    assert search(chain, "zzz") == []
    ranks = {n.name: n.props["rank"] for n in chain.nodes("dataset")}
    assert ranks["raw.a"] > ranks["mart.d"], "being upstream of much ranks high"
    chain.set_ranks({resolve(chain, "mart.d").id: 10.0})  # the rank, not the name, orders equal matches
    assert [n.name for n in search(chain, "mart", kind="dataset")] == ["mart.d", "mart.c"]


def test_queries_follow_new_writes(chain: Store) -> None:
    assert "mart.e" not in _names(lineage(chain, resolve(chain, "mart.d").id, "downstream"))
    graph.write(chain, [event("j5", ["mart.d"], ["mart.e"], run="r9")])
    assert "mart.e" in _names(lineage(chain, resolve(chain, "mart.d").id, "downstream"))


# -- time and garbage collection ---------------------------------------------------------------

OLD, NEW = "2026-01-01T00:00:00.000Z", "2026-11-25T00:00:00.000Z"


def _aging(store: Store, extra: int = 0) -> None:
    """Twenty live chains seen recently, one seen long ago."""
    events = [event(f"fresh{i}", [f"src.f{i}"], [f"dst.f{i}"], run=f"f{i}", when=NEW) for i in range(20 + extra)]
    graph.write(store, [*events, event("old", ["src.gone"], ["dst.gone"], run="old", when=OLD)])


def test_stale_edges_are_marked_then_removed_on_a_later_crawl(store: Store) -> None:
    _aging(store)
    first = collect(store, dt.datetime(2026, 11, 26, tzinfo=dt.UTC), stale_after=dt.timedelta(days=30))
    assert first.marked == {"READS": 1, "WRITES": 1, "FEEDS": 1} and not first.removed_edges
    assert {e.stale_since for e in store.edges() if e.src.endswith("gone") or e.dst.endswith("gone")} == {
        "2026-11-26T00:00:00.000Z"}
    second = collect(store, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), stale_after=dt.timedelta(days=30))
    assert second.removed_edges == {"READS": 1, "WRITES": 1, "FEEDS": 1}
    assert second.removed_nodes == {"dataset": 2, "job": 1}
    assert store.node("dataset:postgres://warehouse:5432/src.gone").removed_at == "2026-11-27T00:00:00.000Z"
    assert all("gone" not in n.name for n in store.nodes("dataset"))
    gone = resolve_removed(store, "src.gone")
    as_of = lineage(store, gone, "downstream", as_of="2026-11-26T12:00:00.000Z")
    assert _names(as_of) == {"src.gone", "dst.gone"}, "as_of sees the graph as it was"
    assert _names(lineage(store, gone, "downstream")) == {"src.gone"}
    (history,) = [h for h in graph.history(store, gone) if h.edge.kind == "READS"]
    assert (history.appeared, history.disappeared) == (OLD, "2026-11-27T00:00:00.000Z")


def resolve_removed(store: Store, name: str) -> str:
    return f"dataset:postgres://warehouse:5432/{name}"


def test_an_edge_seen_again_is_live_again(store: Store) -> None:
    _aging(store)
    collect(store, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    graph.write(store, [event("old", ["src.gone"], ["dst.gone"], run="old-again", when=NEW)])
    collect(store, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    assert all(e.stale_since is None and e.removed_at is None for e in store.edges())


def _counted(store: Store) -> dict[str, int]:
    """The counts, as the store's own rows tell them."""
    counts: dict[str, int] = {}
    for item in [*store.nodes(), *store.edges()]:
        kind = item.kind
        counts[kind] = counts.get(kind, 0) + 1
    counts["issue"] = len(store.issues())
    return {kind: count for kind, count in sorted(counts.items()) if count}


def test_counts_follow_writes_removals_returns_and_the_quarantine(store: Store) -> None:
    assert store.counts() == {}
    _aging(store)
    graph.write(store, [], issues=[ParseIssue(code="bad_json", severity="error", message="x",
                                              origin=Origin(path="/logs/a.jsonl", line=1))])
    assert store.counts() == _counted(store) and store.counts()["dataset"] == 42 and store.counts()["issue"] == 1
    collect(store, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    collect(store, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    assert store.counts() == _counted(store) and store.counts()["dataset"] == 40, "removed: not counted"
    graph.write(store, [event("old", ["src.gone"], ["dst.gone"], run="old-again", when=NEW)])
    assert store.counts() == _counted(store) and store.counts()["dataset"] == 42, "back: counted again"
    store.release([store.quarantine(IssueFilter()).entries[0].key])
    assert store.counts() == _counted(store) and "issue" not in store.counts()


def test_collection_holds_back_above_the_limit(store: Store) -> None:
    _aging(store, extra=-10)  # 11 chains: removing one of them is 9% of each kind
    collect(store, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    report = collect(store, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    assert not report.removed_edges
    assert report.held_back == {"READS": 1, "WRITES": 1, "FEEDS": 1}
    assert any("held back" in message for message in report.messages())


# -- migration ---------------------------------------------------------------------------------

def test_export_then_import_gives_the_same_export(new_store: Factory) -> None:
    source = new_store()
    graph.write(source, CHAIN)
    _aging(source)
    collect(source, dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    collect(source, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    update_ranks(source)
    source.add_issues([ParseIssue(code="bad_json", message="x", origin=Origin(path="/q", line=1))])
    document = export(source)
    target = new_store()
    load(target, document)
    assert dumps(export(target)) == dumps(document)


# -- a larger graph: the live fast path against the layer-by-layer walk ------------------------

def _warehouse() -> list[LineageEvent]:
    """Five layers of six tables, each table written by a job reading one to three tables of the
    layers below (mostly the next one; a hub, raw.t0, read by most), and a model trained on two."""
    rng = random.Random(5)
    events = []
    for layer in range(1, 5):
        for index in range(6):
            below = [layer - 1 if rng.random() < 0.8 else rng.randrange(layer) for _ in range(rng.randint(1, 3))]
            inputs = {f"{_layer(at)}.t{rng.randrange(6)}" for at in below}
            inputs |= {"raw.t0"} if rng.random() < 0.6 else set()
            events.append(event(f"j{layer}.{index}", sorted(inputs), [f"{_layer(layer)}.t{index}"],
                                run=f"w{layer}.{index}"))
    train = event("train", ["l1.t2", "l2.t4"], [], run="train")
    return [*events, dataclasses.replace(train, produced=(ModelRef(name="limits", version="3"),))]


def _layer(index: int) -> str:
    return "raw" if index == 0 else f"l{index}"


@pytest.mark.parametrize("depth", [1, 2, None])
def test_impact_pages_and_totals_agree_with_the_walk_of_the_past(store: Store, depth: int | None) -> None:
    graph.write(store, _warehouse())
    for name in ("raw.t0", "raw.t3", "l1.t2", "l4.t1"):
        root = resolve(store, name).id
        walked = lineage(store, root, "downstream", depth, as_of="2999-01-01T00:00:00.000Z")
        every = impact(store, root, depth)
        assert {(r.node.id, r.distance) for r in every} == {(n, d) for n, d in walked.distance.items() if n != root}
        for limit in (1, 5, 12):
            page = impact_page(store, root, depth, limit=limit)
            assert (list(page.rows), page.total) == (every[:limit], len(every))
    model = "model_version:limits/3"
    assert model in {r.node.id for r in impact(store, resolve(store, "l1.t2").id, 1)}, "training is one step"


@pytest.mark.parametrize("depth", [1, 2, None])
def test_an_impacts_last_use_is_the_newest_edge_the_walk_arrives_by(store: Store, depth: int | None) -> None:
    """As the whole edges of the lineage view tell it (an impact reads only the edges' keys and
    times; a whole one, those leaving the nodes reached): the newest crossed into each node, else
    the node's own last seen."""
    rng = random.Random(11)
    dated = []
    for e in _warehouse():
        when = f"2026-11-{rng.randint(1, 28):02d}T0{rng.randint(0, 9)}:00:00.000Z"
        dated.append(dataclasses.replace(e, run=dataclasses.replace(e.run, started_at=when),
                                         evidence=dataclasses.replace(e.evidence, timestamp=when)))
    graph.write(store, dated)
    times = set()
    for name in ("raw.t0", "raw.t3", "l1.t2", "l4.t1"):
        root = resolve(store, name).id
        view = lineage(store, root, "downstream", depth)
        newest: dict[str, str] = {}
        for edge in view.edges:
            target = edge.src if edge.kind == "TRAINED_ON" else edge.dst
            newest[target] = max(newest.get(target, ""), edge.last_seen or "")
        every = impact(store, root, depth)
        times |= {row.last_seen for row in every}
        assert [row.last_seen for row in every] == [newest.get(row.node.id) or row.node.last_seen for row in every]
        for limit in (1, 5, 12):
            assert list(impact_page(store, root, depth, limit=limit).rows) == every[:limit]
    assert len(times) > 3, "the edges' times differ"


# -- crawls, their changes, and the quarantine ---------------------------------------------------

def test_crawls_are_numbered_and_their_reports_kept_under_the_number(store: Store) -> None:
    assert next_crawl(store) == 1 and store.reports() == []
    store.save_report({"crawl": 1, "files": 3})
    store.save_report({"crawl": 2, "files": 4})
    assert next_crawl(store) == 3
    assert [(r["crawl"], r["files"]) for r in store.reports()] == [(2, 4), (1, 3)]
    store.save_report({"files": 5})  # (no number: the next one)
    assert [r["crawl"] for r in store.reports(limit=1)] == [3]


def _changed(store: Store, after: int, upto: int) -> set[tuple[int, str, str]]:
    return {(c.crawl, c.change, c.node.id if c.node else "|".join(c.edge.key))  # type: ignore[union-attr]
            for c in store.changes(after, upto)}


def test_changes_are_what_each_crawl_added_marked_stale_and_removed(store: Store) -> None:
    graph.write(store, [event("old", ["src.gone"], ["dst.gone"], run="old", when=OLD)], crawl=1)
    graph.write(store, [event(f"fresh{i}", [f"src.f{i}"], [f"dst.f{i}"], run=f"f{i}", when=NEW)
                        for i in range(20)])  # (unstamped: an import)
    added = _changed(store, 0, 1)
    gone, job = resolve_removed(store, "src.gone"), "job:postgres://warehouse:5432/old"
    assert {(1, "added", gone), (1, "added", job), (1, "added", f"{gone}|READS|{job}")} <= added
    assert {change for _, change, _ in added} == {"added"} and not any("f1" in what for _, _, what in added)
    collect(store, dt.datetime(2026, 11, 26, tzinfo=dt.UTC), crawl=2)
    stale = _changed(store, 1, 2)
    assert {(crawl, change) for crawl, change, _ in stale} == {(2, "stale")}
    assert sorted(what.split("|")[1] for _, _, what in stale) == ["FEEDS", "READS", "WRITES"]
    collect(store, dt.datetime(2026, 11, 27, tzinfo=dt.UTC), crawl=3)
    removed = _changed(store, 2, 3)
    assert {(3, "removed", gone), (3, "removed", job), (3, "removed", f"{gone}|READS|{job}")} <= removed
    assert _changed(store, 0, 3) >= added - {(1, "added", gone)} | removed, "a range holds each crawl's changes"
    graph.write(store, [event("old", ["src.gone"], ["dst.gone"], run="again", when=NEW)], crawl=4)
    back = _changed(store, 3, 4)
    assert {(4, "added", gone), (4, "added", f"{gone}|READS|{job}")} <= back
    assert not _changed(store, 2, 3), "what came back is no longer removed"


def test_the_quarantine_filters_counts_acknowledges_and_releases(store: Store) -> None:
    def issue(code: str, path: str, line: int, severity: str = "error") -> ParseIssue:
        return ParseIssue(code=code, severity=severity, message=f"{code} at {line}",  # type: ignore[arg-type]
                          origin=Origin(path=path, line=line, byte_offset=line * 10))

    graph.write(store, [], issues=[issue("bad_json", "/logs/a.jsonl", 1), issue("bad_json", "/logs/b/c.jsonl", 2)],
                crawl=1)
    graph.write(store, [], issues=[issue("unparseable_sql", "/logs/a.jsonl", 3),
                                   issue("file_changed", "/other/d.log", 0, "warning")], crawl=2)
    everything = store.quarantine(IssueFilter())
    assert everything.total == 4 and [e.crawl for e in everything.entries] == [1, 2, 1, 2]
    page = store.quarantine(IssueFilter(), limit=1)
    assert (page.total, len(page.entries)) == (4, 1)
    assert store.quarantine(IssueFilter(codes=("bad_json",))).total == 2
    assert store.quarantine(IssueFilter(severity="warning")).total == 1
    assert {e.issue.origin.path for e in store.quarantine(IssueFilter(path="/logs")).entries} == {
        "/logs/a.jsonl", "/logs/b/c.jsonl"}
    assert store.quarantine(IssueFilter(path="/logs/a.json")).total == 0, "a file, or a directory: not a prefix"
    assert store.quarantine(IssueFilter(since=2)).total == 2
    key = everything.entries[0].key
    assert [e.key for e in store.quarantine(IssueFilter(key=key[:6])).entries] == [key]
    assert store.acknowledge([key], "2026-12-01T00:00:00+00:00") == 1
    assert store.acknowledge([key], "2026-12-02T00:00:00+00:00") == 0
    (acked,) = store.quarantine(IssueFilter(acknowledged=True)).entries
    assert (acked.key, acked.acknowledged_at) == (key, "2026-12-01T00:00:00+00:00")
    assert store.quarantine(IssueFilter(acknowledged=False)).total == 3
    graph.write(store, [], issues=[everything.entries[0].issue], crawl=3)  # found again: still acknowledged, crawl 1
    assert store.quarantine(IssueFilter(acknowledged=True)).entries == [acked]
    assert store.release([key, "0" * 16]) == 1
    assert store.quarantine(IssueFilter()).total == 3 and len(store.issues()) == 3
