from __future__ import annotations

import pytest

from graph import AmbiguousNameError, LineageIndex, NodeNotFoundError, impact, lineage, open_store, resolve, search
from tests.graph.helpers import event

# raw.a ─j1─► stg.b ─j2─► mart.c ─j3─► mart.d ;  other.b ─j4─► mart.c ;  mart.c read by dashboard query q
EVENTS = [
    event("j1", ["raw.a"], ["stg.b"], run="r1", user="etl"),
    event("j2", ["stg.b"], ["mart.c"], run="r2", user="etl", when="2026-11-20T00:00:00.000Z"),
    event("j3", ["mart.c"], ["mart.d"], run="r3", user="bi"),
    event("j3", ["mart.c"], ["mart.d"], run="r4", user="bi"),
    event("j3", ["mart.c"], ["mart.d"], run="r5", user="etl"),
    event("j4", ["other.b"], ["mart.c"], run="r6", user="etl"),
    event("q", ["mart.c"], [], run="r7", user="ana"),
]


@pytest.fixture
def index() -> LineageIndex:
    store = open_store("sqlite:///:memory:")
    store.write(EVENTS)
    return LineageIndex(store)


def _names(view_nodes: dict[str, object], kind: str = "dataset") -> set[str]:
    return {n.name for n in view_nodes.values() if n.kind == kind}  # type: ignore[attr-defined]


def test_upstream_follows_jobs_back_to_the_sources(index: LineageIndex) -> None:
    root = resolve(index, "mart.d").id
    view = lineage(index, root, "upstream")
    assert _names(view.nodes) == {"mart.d", "mart.c", "stg.b", "other.b", "raw.a"}
    assert {view.nodes[k].name: d for k, d in view.distance.items() if view.nodes[k].kind == "dataset"} == {
        "mart.d": 0, "mart.c": 1, "stg.b": 2, "other.b": 2, "raw.a": 3}
    assert all(e.kind in ("READS", "WRITES") for e in view.edges)


def test_depth_counts_jobs(index: LineageIndex) -> None:
    root = resolve(index, "mart.d").id
    assert _names(lineage(index, root, "upstream", depth=1).nodes) == {"mart.d", "mart.c"}
    assert _names(lineage(index, root, "upstream", depth=2).nodes) == {"mart.d", "mart.c", "stg.b", "other.b"}


def test_downstream_includes_readers_that_write_nothing(index: LineageIndex) -> None:
    view = lineage(index, resolve(index, "raw.a").id, "downstream")
    assert _names(view.nodes) == {"raw.a", "stg.b", "mart.c", "mart.d"}
    assert _names(view.nodes, "job") == {"j1", "j2", "j3", "q"}


def test_impact_lists_distance_last_use_and_owners(index: LineageIndex) -> None:
    rows = impact(index, resolve(index, "stg.b").id)
    by_name = {(r.node.kind, r.node.name): r for r in rows}
    assert by_name["dataset", "mart.c"].distance == 1
    assert by_name["dataset", "mart.d"].distance == 2
    assert by_name["dataset", "mart.d"].owners == ("bi", "etl")
    assert by_name["dataset", "mart.c"].owners == ("etl",)
    assert by_name["job", "j2"].last_seen == "2026-11-20T00:00:00.000Z"
    assert [r.distance for r in rows] == sorted(r.distance for r in rows)
    assert ("dataset", "other.b") not in by_name


def test_resolve_takes_tails_ids_and_full_names(index: LineageIndex) -> None:
    d = resolve(index, "d")
    assert d.name == "mart.d"
    assert resolve(index, d.id) == d
    assert resolve(index, "postgres://warehouse:5432/mart.d") == d


def test_resolve_refuses_ambiguous_and_unknown_names(index: LineageIndex) -> None:
    with pytest.raises(AmbiguousNameError, match="matches 2 nodes"):
        resolve(index, "b")
    with pytest.raises(NodeNotFoundError, match="did you mean mart.c"):
        resolve(index, "mart.cc")


def test_search_puts_exact_names_first_then_the_most_connected(index: LineageIndex) -> None:
    assert [n.name for n in search(index, "b", kind="dataset")] == ["stg.b", "other.b"]
    assert [n.name for n in search(index, "mart", kind="dataset")] == ["mart.c", "mart.d"]
    assert search(index, "zzz") == []


def test_the_index_follows_new_writes(index: LineageIndex) -> None:
    assert "mart.e" not in _names(lineage(index, resolve(index, "mart.d").id, "downstream").nodes)
    index.store.write([event("j5", ["mart.d"], ["mart.e"], run="r9")])
    assert "mart.e" in _names(lineage(index, resolve(index, "mart.d").id, "downstream").nodes)
