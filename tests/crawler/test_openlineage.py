"""OpenLineage both ways: `lineage export --format openlineage` and the `openlineage` source.

openlineage-python ships no JSON schema files (its 1.x wheel holds the attrs models generated
from the spec, with the spec's and each facet's schema URL), so events are checked against those
models: every key of an event and of each standard facet must be a field of the model (no
unknown keys), every required field present with the model's type, the model's validators
(runId a UUID, eventTime a date-time with a time, URIs) pass, each facet's ``_schemaURL`` is the
one the model names, and the client's own serialization of the model gives back the event. Our
custom facets are checked against the JSON schemas in docs/openlineage/ with jsonschema (their
own part: the spec's base facet they extend is a remote document).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attr
import jsonschema
import pytest
from openlineage.client.generated import (
    base,
    column_lineage_dataset,
    dataset_type_dataset,
    datasource_dataset,
    lifecycle_state_change_dataset,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

from crawler import crawl
from crawler.formats.openlineage import MAX_EVENT_BYTES, sniff
from crawler.registry import SourceSpec
from graph import open_store
from graph.export import export
from graph.openlineage import DATASET_FACET, JOB_FACET, READ_FACET, RUN_FACET, dumps, events, openlineage_run_id
from tests.servers import workload

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "openlineage" / "events.jsonl"
DOCS = ROOT / "docs" / "openlineage"
STANDARD_FACETS: dict[str, type] = {
    "schema": schema_dataset.SchemaDatasetFacet,
    "dataSource": datasource_dataset.DatasourceDatasetFacet,
    "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet,
    "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    "sql": sql_job.SQLJobFacet,
    "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet,
}
CUSTOM_FACETS = {RUN_FACET: "LineageCrawlerRunFacet", JOB_FACET: "LineageCrawlerJobFacet",
                 DATASET_FACET: "LineageCrawlerDatasetFacet", READ_FACET: "LineageCrawlerReadFacet"}


# -- validation against openlineage-python's generated models

def _build(cls: type, data: Any, where: str) -> Any:
    """An instance of the attrs model ``cls`` from ``data``, refusing what the model does not hold."""
    assert isinstance(data, Mapping), f"{where}: not an object"
    attr.resolve_types(cls)
    fields = {field.name: field for field in attr.fields(cls)}
    unknown = set(data) - set(fields)
    assert not unknown, f"{where}: keys {sorted(unknown)} are not in {cls.__name__}"
    given = {}
    for name, field in fields.items():
        if not field.init:
            continue
        if name not in data:
            assert field.default is not attr.NOTHING, f"{where}: {name} is required by {cls.__name__}"
            continue
        given[field.alias] = _value(field.type, data[name], f"{where}.{name}")
    instance = cls(**given)
    for name, field in fields.items():
        if not field.init and name in data:  # schemaURL, _schemaURL: the model's own
            assert data[name] == getattr(instance, name), f"{where}.{name}: {data[name]} is not the model's"
    return instance


def _value(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return None if value is None else _value(options[0], value, where)
    if origin is list:
        assert isinstance(value, list), f"{where}: not a list"
        return [_value(typing.get_args(kind)[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        assert isinstance(value, dict), f"{where}: not an object"
        item_kind = typing.get_args(kind)[1]
        return {key: _facet(item_kind, key, item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if attr.has(kind):
        return _build(kind, value, where)
    if kind in (str, int, bool, float):
        assert isinstance(value, kind), f"{where}: {value!r} is not a {kind.__name__}"
    return value


def _facet(kind: Any, name: str, value: Any, where: str) -> Any:
    """A facet of a facets map: standard ones by their model, ours by their JSON schema."""
    if not (isinstance(kind, type) and issubclass(kind, base.BaseFacet)):
        return _value(kind, value, where)  # (a map that holds no facets: column lineage's fields)
    if name in CUSTOM_FACETS:
        definition = json.loads((DOCS / f"{CUSTOM_FACETS[name]}.json").read_text())["$defs"][CUSTOM_FACETS[name]]
        jsonschema.validate(value, definition["allOf"][1])
        assert value["_schemaURL"].endswith(f"/{CUSTOM_FACETS[name]}.json#/$defs/{CUSTOM_FACETS[name]}")
        return kind(producer=value["_producer"])
    model = STANDARD_FACETS.get(name)
    assert model is not None and issubclass(model, kind), f"{where}: no {kind.__name__} model for {name!r}"
    return _build(model, value, where)


def _without_custom(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_custom(v) for k, v in data.items() if k not in CUSTOM_FACETS and v not in ({}, [])}
    if isinstance(data, list):
        return [_without_custom(item) for item in data]
    return data


def validate(event: dict[str, Any]) -> None:
    instance = _build(base.DatasetEvent if "dataset" in event else base.RunEvent, event, "event")
    # the client serializes the models back as the event is (ours aside: checked by their schema)
    assert _without_custom(Serde.to_dict(instance)) == _without_custom(event)


# -- export

@pytest.fixture(scope="module")
def demo_events(demo_store_url: str) -> list[dict[str, Any]]:
    return list(events(open_store(demo_store_url, read_only=True)))


def _runs(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in found if "run" in event]


def test_every_event_of_the_demo_is_valid(demo_events: list[dict[str, Any]]) -> None:
    runs = _runs(demo_events)
    assert len(runs) == len(list(e for e in runs if e["eventType"] == "COMPLETE")) > 300
    for event in demo_events:
        validate(event)
    facets = {name for e in runs for d in e["outputs"] + e["inputs"] for name in d["facets"]}
    assert facets >= {"schema", "dataSource", "datasetType", "columnLineage", DATASET_FACET}
    assert any("sql" in e["job"]["facets"] for e in runs)
    # the warehouse log's staging refresh drops and truncates tables: DatasetEvents, at those times
    changes = {(e["dataset"]["facets"][DATASET_FACET]["lifecycle"],
                e["dataset"]["facets"].get("lifecycleStateChange", {}).get("lifecycleStateChange"))
               for e in demo_events if "dataset" in e}
    assert {("drop", "DROP"), ("rename", None)} <= changes, changes
    for event in demo_events:
        if "dataset" in event:
            change = event["dataset"]["facets"][DATASET_FACET]
            assert change["properties"][f"last_{change['lifecycle']}"] == event["eventTime"]


def test_export_is_deterministic(demo_store: Any, demo_events: list[dict[str, Any]]) -> None:
    assert dumps(events(demo_store)) == dumps(demo_events)
    assert [e["eventTime"] for e in demo_events] == sorted(e["eventTime"] for e in demo_events)
    ids = [e["run"]["runId"] for e in _runs(demo_events)]
    assert len(set(ids)) == len(ids)
    event = _runs(demo_events)[0]
    assert event["run"]["runId"] == openlineage_run_id(event["run"]["facets"][RUN_FACET]["runId"])


def test_a_bad_event_is_refused_by_the_validation(demo_events: list[dict[str, Any]]) -> None:
    event = json.loads(json.dumps(_runs(demo_events)[0]))
    event["run"]["runId"] = "not-a-uuid"
    with pytest.raises(ValueError):
        validate(event)
    event = json.loads(json.dumps(_runs(demo_events)[0]))
    event["job"]["owner"] = "x"
    with pytest.raises(AssertionError):
        validate(event)
    dropped = next(e for e in demo_events if "lifecycleStateChange" in e.get("dataset", {}).get("facets", {}))
    event = json.loads(json.dumps(dropped))
    validate(event)
    event["dataset"]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] = "VANISH"  # no such state
    with pytest.raises(ValueError, match="VANISH"):
        validate(event)


# -- export, then import

def test_export_then_import_gives_the_same_graph(demo_store: Any, demo_events: list[dict[str, Any]],
                                                 tmp_path: Path) -> None:
    """What differs, and why:
    - model versions and models, and their OF, SERVED, TRAINED_ON and PRODUCED edges: OpenLineage
      has no models; members of clustered datasets and the quarantine: not in RunEvents;
    - evidence: the imported edges' is the OpenLineage file and line (source type openlineage);
    - IN and DERIVES counts and times: column lineage is per column, not per run, so each run's
      event lists its job's whole column lineage (counted once a run, seen at each run's time);
    - rank: PageRank over a graph without the models;
    - runs that touched no dataset (an MLflow model's registration: a run of its own): no lineage,
      which the import keeps no run for, so their job's last_seen is its last run with datasets.
    The tables the warehouse log's staging refresh drops and renames (workload.PG_REFRESH_AFTER_REVIEW)
    keep their times: DatasetEvents carry them."""
    events = tmp_path / "demo.openlineage.jsonl"
    events.write_text(dumps(demo_events), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'back.db'}")
    report = crawl([SourceSpec(path=str(events))], store)
    assert not report.issues_by_code
    before, after = export(demo_store), export(store)
    models = ("model", "model_version")
    empty = {f"run:{e['run']['facets'][RUN_FACET]['runId']}" for e in _runs(demo_events)
             if not (e["inputs"] or e["outputs"])}
    registrations = {n["id"] for n in before["nodes"] if n["kind"] == "run" and n.get("props", {}).get("registers")}
    assert empty == registrations, "a run with lineage was exported without its datasets"
    their_jobs = {n["props"]["job"] for n in before["nodes"] if n["id"] in empty}
    dropped = {f"/credit.{sql.split()[-1]}" for sql in workload.PG_REFRESH_AFTER_REVIEW if sql.startswith("DROP")}
    assert len({n["id"] for n in after["nodes"] if n["kind"] == "dataset" and n["id"].endswith(tuple(dropped))}) == 2
    assert _nodes(before, models, empty, their_jobs) == _nodes(after, models, empty, their_jobs)
    assert _edges(before, models, empty) == _edges(after, models, empty)
    assert before["usage"] == after["usage"]


def _nodes(document: Mapping[str, Any], skipped: tuple[str, ...], empty_runs: set[str],
           jobs_of_empty: set[str]) -> dict[str, Any]:
    found = {}
    for node in document["nodes"]:
        if node["kind"] in skipped or node["id"] in empty_runs:
            continue
        if node["id"] in jobs_of_empty:
            node = {k: v for k, v in node.items() if k != "last_seen"}
        node = {**node, "props": {k: v for k, v in node.get("props", {}).items() if k != "rank"}}
        if node["kind"] == "column":
            node.pop("first_seen", None), node.pop("last_seen", None)
        found[node["id"]] = node
    return found


def _edges(document: Mapping[str, Any], skipped: tuple[str, ...], empty_runs: set[str]) -> dict[Any, Any]:
    found = {}
    for edge in document["edges"]:
        if any(edge[end].startswith(f"{kind}:") for kind in skipped for end in ("src", "dst")):
            continue
        if edge["src"] in empty_runs:
            continue
        edge = {k: v for k, v in edge.items() if k != "evidence"}
        if edge["kind"] in ("IN", "DERIVES"):
            edge = {k: v for k, v in edge.items() if k not in ("count", "first_seen", "last_seen")}
        found[(edge["src"], edge["kind"], edge["dst"])] = edge
    return found


# -- import of integrations' events

def test_integration_events_merge_with_inferred_lineage(demo_store_url: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'merged.db'}")
    from graph.export import load

    load(store, export(open_store(demo_store_url, read_only=True)))
    report = crawl([SourceSpec(path=str(FIXTURE))], store)
    assert report.issues_by_code == {"bad_json": 1, "bad_openlineage": 1}
    assert report.statements_failed == 1  # the FAIL: counted, no lineage
    pg, s3, hive = "postgres://warehouse.bank.internal:5432", "s3://bank-reports", "hive://metastore.bank.internal:9083"
    airflow = "job:airflow://scheduler.bank.internal/credit_reporting.export_limits"
    spark = "job:spark://bank-prod/limits_report.execute_insert_into_hadoop_fs_relation_command.reporting_limits_daily"
    edges = {(e.src, e.kind, e.dst) for e in store.edges(["READS", "WRITES", "FEEDS"])}
    assert {
        (f"dataset:{pg}/credit.ml.credit_scores", "READS", airflow),  # the warehouse table the logs inferred
        (airflow, "WRITES", f"dataset:{s3}/limits/{{dt}}/limits.csv"),
        (f"dataset:{s3}/limits/{{dt}}/limits.csv", "READS", spark),
        (spark, "WRITES", f"dataset:{hive}/reporting.limits_daily"),
        (f"dataset:{pg}/credit.ml.credit_scores", "FEEDS", f"dataset:{s3}/limits/{{dt}}/limits.csv"),
    } <= edges
    assert not any("limits_weekly" in dst for _, _, dst in edges)  # the failed run's
    inferred = [e for e in store.edges(["WRITES"]) if e.dst == f"dataset:{pg}/credit.ml.credit_scores"]
    assert inferred  # the same dataset, written by the jobs the query logs showed
    derives = {(e.src.rpartition("#")[2], e.dst.rpartition("#")[2], tuple(sorted(e.props)))
               for e in store.edges(["DERIVES"]) if "limits_daily" in e.dst}
    assert derives == {("customer_id", "customer_id", ("direct",)), ("recommended_limit", "limit_band", ("direct",)),
                       ("scored_at", "day", ("direct", "indirect")), ("scored_at", "customer_id", ("indirect",)),
                       ("scored_at", "limit_band", ("indirect",))}
    daily = store.node(f"dataset:{hive}/reporting.limits_daily")
    assert daily is not None  # the DatasetEvent's schema, a column more than the run's
    assert daily.props["schema"] == {"customer_id": "long", "limit_band": "string", "day": "date", "region": "string"}
    runs = {n.name: n for n in store.nodes(kind="run")}
    task = runs["0193f2a1-8a02-7b11-b3c5-1d9e2f4a6c21"]
    assert task.first_seen == "2026-11-26T02:00:04.112Z"  # its START's time, in UTC
    assert task.props["code_version"] == "4f2c9e1b7d3a"
    assert task.props["nominal_start"] == "2026-11-26T02:00:00.000000+00:00"
    assert task.props["parent_job"] == "airflow://scheduler.bank.internal/credit_reporting"
    assert task.props["engine"] == "Airflow"
    evidence = store.evidence((f"dataset:{pg}/credit.ml.credit_scores", "READS", airflow))
    assert evidence[0].source_type == "openlineage" and evidence[0].origin.line == 3
    assert evidence[0].sql is not None and "'2026-11-26'" not in evidence[0].sql and "?" in evidence[0].sql


def test_a_start_waits_for_its_end_across_crawls(tmp_path: Path) -> None:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)
    log = tmp_path / "events.jsonl"
    log.write_text("".join(lines[:2]), encoding="utf-8")  # START and RUNNING of the Airflow task
    store = open_store(f"sqlite:///{tmp_path / 'inc.db'}")
    crawl([SourceSpec(path=str(log))], store)
    assert not list(store.nodes(kind="run"))
    with log.open("a", encoding="utf-8") as out:
        out.write(lines[2])
    crawl([SourceSpec(path=str(log))], store)
    (run,) = store.nodes(kind="run")
    assert run.first_seen == "2026-11-26T02:00:04.112Z" and run.props["code_version"] == "4f2c9e1b7d3a"


def test_other_producers_dataset_events_drop_truncate_and_rename_their_datasets(tmp_path: Path) -> None:
    def change(when: str, name: str, state: str, **more: Any) -> dict[str, Any]:
        facet = {"_producer": "https://x", "_schemaURL": "https://x", "lifecycleStateChange": state, **more}
        return {"eventTime": when, "producer": "https://x", "schemaURL": "https://x",
                "dataset": {"namespace": "postgres://db:5432", "name": name, "facets": {"lifecycleStateChange": facet}}}
    log = tmp_path / "events.jsonl"
    log.write_text(dumps([
        change("2026-11-26T01:00:00Z", "shop.public.old", "DROP"),
        change("2026-11-26T02:00:00Z", "shop.public.orders", "TRUNCATE"),
        change("2026-11-26T03:00:00Z", "shop.public.orders", "RENAME",
               previousIdentifier={"namespace": "postgres://db:5432", "name": "shop.public.orders_new"}),
        change("2026-11-26T04:00:00Z", "shop.public.seen", "ALTER"),
        # (the only event naming shop.public.moved: a rename into it)
        change("2026-11-26T05:00:00Z", "shop.public.moved", "RENAME",
               previousIdentifier={"namespace": "postgres://db:5432", "name": "shop.public.staged"}),
    ]), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}")
    assert not crawl([SourceSpec(path=str(log))], store).issues_by_code
    props = {n.name: n.props for n in store.nodes(kind="dataset")}
    assert props["shop.public.old"]["last_drop"] == "2026-11-26T01:00:00.000Z"
    assert props["shop.public.orders"]["last_truncate"] == "2026-11-26T02:00:00.000Z"
    assert props["shop.public.orders_new"]["last_rename"] == "2026-11-26T03:00:00.000Z"
    assert props["shop.public.orders_new"]["rename_with"] == "shop.public.orders"
    assert props["shop.public.moved"] == {}  # the name it took: a dataset of its own, seen then
    (moved,) = (n for n in store.nodes(kind="dataset") if n.name == "shop.public.moved")
    assert moved.first_seen == moved.last_seen == "2026-11-26T05:00:00.000Z"
    assert props["shop.public.seen"] == {"last_described": "2026-11-26T04:00:00.000Z"}
    # and ours, exported: each change a DatasetEvent at its time, the table only ever dropped too
    exported = [e for e in events(store) if "dataset" in e]
    assert [(e["dataset"]["name"], e["dataset"]["facets"][DATASET_FACET]["lifecycle"], e["eventTime"])
            for e in exported] == [("shop.public.old", "drop", "2026-11-26T01:00:00.000Z"),
                                   ("shop.public.orders", "truncate", "2026-11-26T02:00:00.000Z"),
                                   ("shop.public.orders_new", "rename", "2026-11-26T03:00:00.000Z"),
                                   ("shop.public.staged", "rename", "2026-11-26T05:00:00.000Z")]
    for event in exported:
        validate(event)


@pytest.mark.parametrize("line", [
    b"[1, 2]\n", b'{"eventTime": "x", "run": {"runId": 7}, "job": {}}\n', b'{"eventType": "COMPLETE", "run": {"runId": '
    b'"r"}, "job": {"namespace": "n", "name": "j"}, "inputs": {"a": 1}}\n', b"\xff\xfe not utf-8\n",
], ids=["not-an-object", "run-id-not-a-string", "inputs-not-a-list", "not-utf8"])
def test_bad_lines_are_issues_and_the_crawl_goes_on(line: bytes, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    good = FIXTURE.read_bytes().splitlines(keepends=True)[4]  # the Spark job's COMPLETE
    log.write_bytes(line + b" " * 10 + b"\n" + good)
    store = open_store(f"sqlite:///{tmp_path / 'bad.db'}")
    report = crawl([SourceSpec(path=str(log), type="openlineage")], store)
    assert sum(report.issues_by_code.values()) == 1
    assert any(e.kind == "WRITES" for e in store.edges(["WRITES"]))


def test_a_huge_line_is_an_issue(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    huge = json.dumps({"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z", "producer": "https://x",
                       "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}, "pad": "x" * MAX_EVENT_BYTES})
    log.write_text(huge + "\n", encoding="utf-8")
    assert sniff(log.read_bytes()[:4096])
    report = crawl([SourceSpec(path=str(log))], open_store(f"sqlite:///{tmp_path / 'huge.db'}"))
    assert report.issues_by_code == {"event_too_large": 1}
