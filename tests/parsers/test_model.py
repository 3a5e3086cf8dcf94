from __future__ import annotations

import dataclasses
import json

import pytest

from parsers import (
    ColumnEdge,
    ColumnRef,
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    ModelRef,
    Origin,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.errors import SchemaVersionError

SCORES = DatasetRef(namespace="postgres://warehouse:5432", name="credit.ml.credit_scores")
FEATURES = DatasetRef(namespace="postgres://warehouse:5432", name="credit.features.customer_features")
ORIGIN = Origin(path="/logs/trace.jsonl", line=12, byte_offset=4096)
EVIDENCE = Evidence(source_type="sql_trace", origin=ORIGIN, timestamp="2026-11-25T06:00:00.000Z",
                    fingerprint="ab12", sql="insert into ml.credit_scores select * from f where x = ?")

INSTANCES = {
    "origin": ORIGIN,
    "source_record": SourceRecord(source_type="sql_trace", text="select 1", origin=ORIGIN, user="ana",
                                  database="credit", attributes={"pid": "42"}),
    "dataset": SCORES,
    "column_ref": ColumnRef(dataset=SCORES, column="score"),
    "column_edge": ColumnEdge(source=ColumnRef(dataset=FEATURES, column="bureau_score"),
                              target=ColumnRef(dataset=SCORES, column="score"), kind="direct"),
    "job": JobRef(namespace="postgres://warehouse:5432", name="sql:ab12"),
    "run": RunRef(run_id="r1", started_at="2026-11-25T06:00:00.000Z", user="svc", status="failed"),
    "model": ModelRef(name="credit-limit", version="7"),
    "issue": ParseIssue(code="unparseable_sql", message="bad", origin=ORIGIN, severity="warning"),
    "evidence": EVIDENCE,
    "event": LineageEvent(
        job=JobRef(namespace="postgres://warehouse:5432", name="sql:ab12"), evidence=EVIDENCE,
        statement_kind="INSERT", inputs=(FEATURES,), outputs=(SCORES,),
        column_edges=(ColumnEdge(source=ColumnRef(dataset=FEATURES, column="a"),
                                 target=ColumnRef(dataset=SCORES, column="b"), kind="indirect"),),
        run=RunRef(run_id="r1"), dataset_facets={SCORES.qualified: {"kind": "view", "schema": {"score": "float"}}},
        produced=(ModelRef(name="credit-limit", version="7"),), confidence=0.5,
        issues=(ParseIssue(code="x", message="y", origin=ORIGIN),),
    ),
}
INSTANCES["result"] = ParseResult(record_key="k", events=(INSTANCES["event"],), issues=(INSTANCES["issue"],))


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_round_trip_through_json(name: str) -> None:
    value = INSTANCES[name]
    text = value.to_json()
    assert type(value).from_dict(json.loads(text)) == value
    assert json.loads(text)["schema_version"] == 1


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_canonical_form_sorts_keys_and_drops_empty_values(name: str) -> None:
    data = INSTANCES[name].to_dict()
    assert list(data) == sorted(data)
    assert all(value not in (None, [], {}) for value in data.values())


def test_types_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SCORES.name = "other"  # type: ignore[misc]


def test_another_schema_version_is_refused() -> None:
    data = SCORES.to_dict() | {"schema_version": 99}
    with pytest.raises(SchemaVersionError):
        DatasetRef.from_dict(data)


def test_record_key_depends_on_place_and_text() -> None:
    record = INSTANCES["source_record"]
    moved = SourceRecord.from_dict(record.to_dict() | {"origin": {"path": "/logs/trace.jsonl", "line": 13}})
    assert record.key() == SourceRecord.from_dict(record.to_dict()).key()
    assert record.key() != moved.key()


@pytest.mark.parametrize("evidence", [EVIDENCE, Evidence(source_type="x", origin=Origin(path="/p"))])
def test_the_fast_evidence_encoding_is_the_canonical_one(evidence: Evidence) -> None:
    generic = json.dumps(evidence.to_dict(), sort_keys=True, separators=(",", ":"))
    assert evidence.to_json() == generic



# The record types whose __init__ parsers.frozen.quick_init writes, with an instance of each.
QUICK = {Origin: "origin", SourceRecord: "source_record", RunRef: "run", Evidence: "evidence",
         LineageEvent: "event", ParseResult: "result"}


def _required(kind: type) -> list[str]:
    return [f.name for f in dataclasses.fields(kind)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


@pytest.mark.parametrize("kind", list(QUICK), ids=lambda kind: kind.__name__)
def test_records_built_by_quick_init_are_what_dataclasses_builds(kind: type) -> None:
    """From the same arguments (all of them, or the required ones only), a record type built by
    quick_init's __init__ holds what the __init__ dataclasses writes gives a twin of it, default
    factories give each record its own value, and a missing argument or a change is refused."""
    fields = dataclasses.fields(kind)
    twin = dataclasses.make_dataclass(f"{kind.__name__}Twin", [(f.name, f.type, f) for f in fields],
                                      frozen=True, slots=True, kw_only=True)
    instance = INSTANCES[QUICK[kind]]
    given = {f.name: getattr(instance, f.name) for f in fields}
    required = {name: given[name] for name in _required(kind)}
    for arguments in (given, required):
        assert [getattr(kind(**arguments), f.name) for f in fields] == \
            [getattr(twin(**arguments), f.name) for f in fields]
    for field in fields:
        if field.default_factory is not dataclasses.MISSING:
            assert getattr(kind(**required), field.name) is not getattr(kind(**required), field.name)
    with pytest.raises(TypeError, match=f"missing .* '{_required(kind)[0]}'"):
        kind(**{name: value for name, value in given.items() if name != _required(kind)[0]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(kind(**given), fields[0].name, None)
