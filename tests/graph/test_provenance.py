"""Model provenance (graph/provenance.py) and model versions in impact, on every backend, over a
synthetic graph shaped like the demo's: raw tables -> ELT -> training set -> two versions of a
model, both serving predictions into one audit log."""

from __future__ import annotations

import dataclasses

import pytest

import graph
from graph import Store, impact, lineage
from graph.errors import NodeNotFoundError
from graph.model import dataset_id
from graph.provenance import explain
from parsers import ColumnEdge, ColumnRef, Evidence, JobRef, LineageEvent, ModelRef, Origin, RunRef, Served
from parsers.naming import file_ref
from tests.graph.helpers import ds, event

LOG = file_ref("/logs/decisions.csv")
V2, V3 = "model_version:credit_limit_model/2", "model_version:credit_limit_model/3"


def _column(table: str, column: str) -> ColumnRef:
    return ColumnRef(dataset=ds(table), column=column)


def _training(version: str, run: str, when: str, facets: dict[str, object]) -> LineageEvent:
    base = event("train_credit_limit", ["ml.training_set"], [], run=run, when=when, user="dana")
    return dataclasses.replace(base, produced=(ModelRef(name="credit_limit_model", version=version),),
                               run=RunRef(run_id=run, started_at=when, user="dana", facets=facets),
                               evidence=Evidence(source_type="mlflow", origin=Origin(path=f"/mlruns/0/{run}/meta.yaml"),
                                                 timestamp=when))


def _served(version: str, count: int, first: str, last: str, line: int) -> LineageEvent:
    return LineageEvent(
        job=JobRef(namespace="serving", name="serving:credit_limit_model"), statement_kind="PREDICT",
        outputs=(LOG,), run=RunRef(run_id=f"predictions:{version}:{line}", started_at=first),
        served=(Served(model=ModelRef(name="credit_limit_model", version=version), count=count, first=first,
                       last=last, features=("age_years", "annual_income")),),
        evidence=Evidence(source_type="prediction_log", origin=Origin(path="/logs/decisions.csv", line=line),
                          timestamp=first))


def _graph() -> list[LineageEvent]:
    staging = dataclasses.replace(
        event("elt_customers", ["raw.customers"], ["staging.customers"], run="e1", when="2026-11-01T02:00:00.000Z"),
        column_edges=(ColumnEdge(source=_column("raw.customers", "date_of_birth"),
                                 target=_column("staging.customers", "date_of_birth")),))
    training_set = dataclasses.replace(
        event("build_training_set", ["staging.customers", "raw.outcomes"], ["ml.training_set"], run="e2",
              when="2026-11-01T03:00:00.000Z"),
        column_edges=(ColumnEdge(source=_column("staging.customers", "date_of_birth"),
                                 target=_column("ml.training_set", "age_years")),))
    return [
        staging, training_set,
        _training("2", "run-v2", "2026-11-01T05:00:00.000Z",
                  {"code_version": "a1b2c3d", "params": {"max_depth": "6"}, "metrics": {"auc": 0.81}}),
        _training("3", "run-v3", "2026-11-10T05:00:00.000Z", {"code_version": "e4f5a6b"}),
        _served("2", 120, "2026-11-02T08:00:00.000Z", "2026-11-14T18:00:00.000Z", 2),
        _served("3", 40, "2026-11-12T08:00:00.000Z", "2026-11-20T18:00:00.000Z", 3),
    ]


@pytest.fixture
def models(store: Store) -> Store:
    graph.write(store, _graph())
    return store


def test_explain_walks_from_the_version_to_the_raw_sources(models: Store) -> None:
    found = explain(models, V2)
    assert found.model == "credit_limit_model"
    (trained,) = found.trained
    assert trained.run.name == "run-v2" and trained.run.props["code_version"] == "a1b2c3d"
    assert trained.run.props["params"] == {"max_depth": "6"} and trained.run.props["user"] == "dana"
    assert [node.name for node, _ in found.training_data] == ["ml.training_set"]
    assert {(s.job.name, s.output.name, tuple(n.name for n in s.inputs)) for s in found.steps} == {
        ("build_training_set", "ml.training_set", ("raw.outcomes", "staging.customers")),
        ("elt_customers", "staging.customers", ("raw.customers",)),
    }
    assert all(s.evidence and s.evidence[0].sql for s in found.steps)
    assert [n.name for n in found.raw_sources] == ["raw.customers", "raw.outcomes"]
    by_name = {f.feature: f for f in found.features}
    assert by_name["age_years"].sources == ("postgres://warehouse:5432/raw.customers#date_of_birth",)
    assert by_name["annual_income"].column is None
    (serving,) = found.serving
    assert (serving.count, serving.first, serving.last) == (120, "2026-11-02T08:00:00.000Z", "2026-11-14T18:00:00.000Z")
    assert [s.version for s in found.others] == ["3"]
    assert found.notes == ()


def test_other_versions_are_those_serving_at_the_predictions_time(models: Store) -> None:
    assert [s.version for s in explain(models, V2, at="2026-11-13T10:00:00.000Z").others] == ["3"]
    assert explain(models, V2, at="2026-11-05T10:00:00.000Z").others == ()


def test_explain_to_dict_is_plain_json_and_keeps_no_empty_fields(models: Store) -> None:
    data = explain(models, V3).to_dict()
    assert data["version"] == "3" and data["trained"][0]["facets"]["code_version"] == "e4f5a6b"
    assert data["other_versions_serving"][0]["version"] == "2"
    assert "notes" not in data


def test_a_version_known_only_from_predictions_says_so(store: Store) -> None:
    graph.write(store, [_served("9", 3, "2026-11-02T08:00:00.000Z", "2026-11-02T09:00:00.000Z", 7)])
    found = explain(store, "model_version:credit_limit_model/9")
    assert found.trained == () and found.training_data == ()
    assert "no training run is known" in found.notes[0]
    with pytest.raises(NodeNotFoundError):
        explain(store, "model_version:credit_limit_model/1")


def test_impact_of_a_raw_table_lists_the_versions_trained_downstream_and_their_predictions(models: Store) -> None:
    rows = {row.node.id: row.distance for row in impact(models, "dataset:postgres://warehouse:5432/raw.customers")}
    assert rows[V2] == rows[V3] == 3
    assert rows[dataset_id(LOG)] == 4
    up = lineage(models, dataset_id(LOG), "upstream")
    assert {V2, V3, "dataset:postgres://warehouse:5432/raw.customers"} <= set(up.nodes)
