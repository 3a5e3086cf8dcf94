"""OpenLineage events (https://openlineage.io/spec/2-0-2/OpenLineage.json) as lineage facts.

A record holds one run's event as the reader merged it (its START, RUNNING and OTHER events
folded into its COMPLETE, FAIL or ABORT): the job, the run with its facets, the inputs and
outputs with theirs. Dataset names are OpenLineage's already (our naming is theirs); only the
Goods clustering applies (``/lake/events/dt=2024-01-01`` is ``/lake/events/{dt}``). A
DatasetEvent or JobEvent (OpenLineage 2) carries no run: it moves no data, and gives only what
it says of its datasets (their schema and type) and, a DatasetEvent, the change in its dataset's
life it tells (``lifecycleStateChange``: DROP, TRUNCATE, OVERWRITE as a refresh, RENAME from its
``previousIdentifier``; our own export's facet names ours).

What is kept:
- run: ``runId`` (or our own id, from an export of ours: the ``lineageCrawler_run`` facet), the
  START's time, and as run facets the ``nominalTime``, ``parent`` (and root), ``processing_engine``
  and the job's ``sourceCodeLocation`` (``code_version``: the git commit);
- job: namespace and name, ``jobType`` and ``documentation`` as job properties, the ``sql``
  facet's query (literals redacted) as the evidence's statement;
- datasets: ``schema`` (-> ``{"schema": {column: type}}``), ``datasetType`` (view, file...);
  an output's ``columnLineage``: one column edge per input field and transformation type
  (DIRECT, INDIRECT; none given: direct); its ``dataset``-wide inputs feed every field indirectly.

>>> import json
>>> from parsers.model import Origin, SourceRecord
>>> event = {"eventType": "COMPLETE", "eventTime": "2024-05-01T03:10:00Z", "producer": "https://x",
...          "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"},
...          "job": {"namespace": "airflow", "name": "etl.load"},
...          "inputs": [{"namespace": "s3://lake", "name": "raw/orders/dt=2024-05-01"}],
...          "outputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders"}]}
>>> result = parse_openlineage_record(SourceRecord(source_type="openlineage", text=json.dumps(event),
...                                                origin=Origin(path="/ol/events.jsonl", line=1)))
>>> found = result.events[0]
>>> [d.name for d in found.inputs], [d.name for d in found.outputs], found.evidence.source_type
(['raw/orders/{dt}'], ['shop.public.orders'], 'openlineage')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from parsers import dialects
from parsers.errors import UnknownDialectError
from parsers.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEvent,
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.naming import given_ref
from parsers.sql.statements import split

SOURCE_TYPE = "openlineage"
# Our own exports (graph/openlineage.py) say more than the spec's facets can: kept as they were.
RUN_FACET = "lineageCrawler_run"
JOB_FACET = "lineageCrawler_job"
DATASET_FACET = "lineageCrawler_dataset"
READ_FACET = "lineageCrawler_read"
Status = Literal["completed", "failed", "rolled_back", "unknown"]
_STATUSES: dict[str, Status] = {"COMPLETE": "completed", "FAIL": "failed", "ABORT": "failed"}
_RUN_STATUSES = ("completed", "failed", "rolled_back", "unknown")
_KINDS = {"view", "file", "temporary", "model-artifact", "table"}


class BadEvent(ValueError):
    """An event that does not have the shape the spec gives it."""


def parse_openlineage_record(record: SourceRecord) -> ParseResult:
    """The lineage of one (merged) OpenLineage event; a malformed one is an issue."""
    try:
        event = json.loads(record.text)
        found = _parse_event(_mapping(event, "the event"), record)
    except (ValueError, TypeError) as error:
        issue = ParseIssue(code="bad_openlineage", message=f"not an OpenLineage event: {error}", origin=record.origin)
        return ParseResult(record_key=record.key(), issues=(issue,))
    return ParseResult(record_key=record.key(), events=(found,))


def _parse_event(event: Mapping[str, Any], record: SourceRecord) -> LineageEvent:
    _text(event.get("eventTime"), "eventTime")
    when = record.timestamp  # (the reader's, in UTC: OpenLineage's may carry any offset)
    if "run" not in event:
        return _static(event, record, when)
    job = _mapping(event.get("job"), "job")
    job_facets = _facets(job)
    inputs = [_dataset(item) for item in _list(event.get("inputs"), "inputs")]
    outputs = [_dataset(item) for item in _list(event.get("outputs"), "outputs")]
    ours = _facets(job).get(JOB_FACET, {})
    return LineageEvent(
        job=JobRef(namespace=_required(job, "namespace"), name=_required(job, "name")),
        job_title=_text(ours.get("title"), "title"),
        statement_kind=_statement_kind(job_facets, _facets(_mapping(event["run"], "run"))),
        inputs=tuple(ref for ref, _ in inputs),
        indirect=tuple(ref for ref, item in inputs if _read_only_to_filter(item)),
        outputs=tuple(ref for ref, _ in outputs),
        column_edges=tuple(edge for ref, item in outputs for edge in _column_edges(ref, item)),
        dataset_facets=_dataset_facets([*inputs, *outputs]),
        job_facets=_job_properties(job_facets),
        confidence=_confidence(ours),
        run=_run(event, record, when),
        evidence=_evidence(event, record, when),
    )


def _static(event: Mapping[str, Any], record: SourceRecord, when: str | None) -> LineageEvent:
    """A DatasetEvent's dataset, or a JobEvent's inputs and outputs: what they say of datasets."""
    if "dataset" in event:
        found = [_dataset(event["dataset"])]
        job = JobRef(namespace=SOURCE_TYPE, name="dataset-event")
        lifecycle: tuple[DatasetEvent, ...] = (_change(*found[0]),)
    else:
        job_item = _mapping(event.get("job"), "job")
        job = JobRef(namespace=_required(job_item, "namespace"), name=_required(job_item, "name"))
        found = [_dataset(item) for key in ("inputs", "outputs") for item in _list(event.get(key), key)]
        lifecycle = tuple(DatasetEvent(event="described", dataset=ref) for ref, _ in found)
    return LineageEvent(job=job, statement_kind="DESCRIBE", evidence=_evidence(event, record, when),
                        lifecycle=lifecycle, dataset_facets=_dataset_facets(found))


# Our changes in a dataset's life (``last_<change>``, see parsers.model.DatasetEvent), as our
# export names them (its dataset facet's ``lifecycle``), and the lifecycleStateChange facet's
# name for each. Ours are told of the dataset changed: a rename of the old name (OpenLineage
# tells it of the new one, naming the old), a swap of one of the two; neither has a standard
# name from that side, so only our facet tells them.
LIFECYCLE_STATES: dict[str, str | None] = {"drop": "DROP", "truncate": "TRUNCATE", "rename": None, "swap": None,
                                           "create_like": "CREATE", "refresh": "OVERWRITE"}
# The facet's changes, as other producers tell them, that are ours too (their CREATE is no copy
# of another table's columns).
_CHANGES = {"DROP": "drop", "TRUNCATE": "truncate", "OVERWRITE": "refresh"}


def _change(ref: DatasetRef, item: Mapping[str, Any]) -> DatasetEvent:
    """What a DatasetEvent says happened to its dataset: a change in its life, as our export or
    the lifecycleStateChange facet tells it (a RENAME: from the name it gives before), or else
    that it was described."""
    facets = _facets(item)
    ours = facets.get(DATASET_FACET)
    if isinstance(ours, Mapping) and ours.get("lifecycle") in LIFECYCLE_STATES:
        return DatasetEvent(event=str(ours["lifecycle"]), dataset=ref)
    given = facets.get("lifecycleStateChange")
    change = given.get("lifecycleStateChange") if isinstance(given, Mapping) else None
    if change == "RENAME" and isinstance(given, Mapping) and isinstance(given.get("previousIdentifier"), Mapping):
        before, _ = _dataset(given["previousIdentifier"])
        return DatasetEvent(event="rename", dataset=before, other=ref)
    if change in _CHANGES:
        return DatasetEvent(event=_CHANGES[change], dataset=ref)
    return DatasetEvent(event="described", dataset=ref)


def _run(event: Mapping[str, Any], record: SourceRecord, when: str | None) -> RunRef:
    run = _mapping(event["run"], "run")
    facets = _facets(run)
    started = record.attributes.get("started_at") or when  # the START's time, when the reader saw it
    ours = facets.get(RUN_FACET)
    status = _STATUSES.get(str(event.get("eventType", "COMPLETE")), "completed")
    if isinstance(ours, Mapping) and isinstance(ours.get("runId"), str):
        status = ours["status"] if ours.get("status") in _RUN_STATUSES else status
        return RunRef(run_id=ours["runId"], started_at=started, user=_text(ours.get("user"), "user"),
                      session_id=_text(ours.get("sessionId"), "sessionId"), status=status,
                      facets=dict(_mapping(ours.get("facets", {}), "facets")))
    return RunRef(run_id=_required(run, "runId"), started_at=started, user=record.user, status=status,
                  facets=_run_facets(facets, _facets(_mapping(event.get("job"), "job"))))


def _run_facets(run: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    nominal = run.get("nominalTime")
    if isinstance(nominal, Mapping):
        found.update(nominal_start=nominal.get("nominalStartTime"), nominal_end=nominal.get("nominalEndTime"))
    parent = run.get("parent")
    if isinstance(parent, Mapping):
        found.update(_parent("parent", parent))
        if isinstance(parent.get("root"), Mapping):
            found.update(_parent("root", parent["root"]))
    engine = run.get("processing_engine")
    if isinstance(engine, Mapping):
        found.update(engine=engine.get("name"), engine_version=engine.get("version"),
                     openlineage_adapter=engine.get("openlineageAdapterVersion"))
    code = job.get("sourceCodeLocation")
    if isinstance(code, Mapping):
        found.update(code_version=code.get("version"), code_url=code.get("url") or code.get("repoUrl"))
    return {key: value for key, value in sorted(found.items()) if isinstance(value, (str, int, float))}


def _parent(prefix: str, parent: Mapping[str, Any]) -> dict[str, Any]:
    job, run = parent.get("job"), parent.get("run")
    found: dict[str, Any] = {}
    if isinstance(job, Mapping):
        found[f"{prefix}_job"] = f"{job.get('namespace')}/{job.get('name')}"
    if isinstance(run, Mapping):
        found[f"{prefix}_run"] = run.get("runId")
    return found


def _statement_kind(job: Mapping[str, Any], run: Mapping[str, Any]) -> str:
    ours = run.get(RUN_FACET)
    if isinstance(ours, Mapping) and isinstance(ours.get("statementKind"), str):
        return str(ours["statementKind"])
    job_type = job.get("jobType")
    if isinstance(job_type, Mapping) and isinstance(job_type.get("jobType"), str):
        return str(job_type["jobType"]).upper()
    return "JOB"


def _confidence(ours: Mapping[str, Any]) -> float:
    value = ours.get("confidence", 1.0)
    return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else 1.0


def _job_properties(job: Mapping[str, Any]) -> dict[str, Any]:
    ours = job.get(JOB_FACET)
    if isinstance(ours, Mapping):
        return {key: value for key, value in _mapping(ours.get("properties", {}), "properties").items()
                if key != "statement_kind"}
    found: dict[str, Any] = {}
    job_type = job.get("jobType")
    if isinstance(job_type, Mapping):
        found.update(integration=job_type.get("integration"), processing_type=job_type.get("processingType"),
                     job_type=job_type.get("jobType"))
    documentation = job.get("documentation")
    if isinstance(documentation, Mapping):
        found["description"] = documentation.get("description")
    return {key: value for key, value in sorted(found.items()) if isinstance(value, str) and value}


def _evidence(event: Mapping[str, Any], record: SourceRecord, when: str | None) -> Evidence:
    job = event.get("job")
    sql = _facets(job).get("sql") if isinstance(job, Mapping) else None
    query = sql.get("query") if isinstance(sql, Mapping) else None
    text = None
    if isinstance(query, str) and query.strip():
        dialect = sql.get("dialect") if isinstance(sql, Mapping) and isinstance(sql.get("dialect"), str) else None
        text = _redacted(query, dialect)
    return Evidence(source_type=SOURCE_TYPE, origin=record.origin, timestamp=when, sql=text)


def _redacted(query: str, dialect: str | None) -> str:
    """The statement with its literals redacted, as everything stored is."""
    try:
        engine = dialects.resolve(dialect)
    except UnknownDialectError:  # a name sqlglot does not know: generic SQL redacts literals too
        engine = dialects.resolve(None)
    statements = split(query, engine)
    return ";\n".join(statement.redacted for statement in statements)


def _dataset(item: Any) -> tuple[DatasetRef, Mapping[str, Any]]:
    item = _mapping(item, "a dataset")
    return given_ref(_required(item, "namespace"), _required(item, "name")), item


def _dataset_facets(found: list[tuple[DatasetRef, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    facets: dict[str, dict[str, Any]] = {}
    for ref, item in found:
        props = facets.setdefault(ref.qualified, {})
        given = _facets(item)
        schema = given.get("schema")
        if isinstance(schema, Mapping) and isinstance(schema.get("fields"), list):
            columns = {str(f["name"]): str(f.get("type") or "") for f in schema["fields"]
                       if isinstance(f, Mapping) and isinstance(f.get("name"), str)}
            if columns:
                props["schema"] = columns
        ours = given.get(DATASET_FACET)
        if isinstance(ours, Mapping) and isinstance(ours.get("properties"), Mapping):
            props.update(ours["properties"])
        kind = given.get("datasetType")
        if isinstance(kind, Mapping) and str(kind.get("datasetType", "")).lower() in _KINDS:
            props["kind"] = str(kind["datasetType"]).lower()
    return {name: props for name, props in facets.items() if props}


def _read_only_to_filter(item: Mapping[str, Any]) -> bool:
    """An input our own export marked as read only to decide which rows change (our read facet)."""
    facets = item.get("inputFacets")
    ours = facets.get(READ_FACET) if isinstance(facets, Mapping) else None
    return isinstance(ours, Mapping) and ours.get("indirect") is True


def _column_edges(target: DatasetRef, item: Mapping[str, Any]) -> list[ColumnEdge]:
    facet = _facets(item).get("columnLineage")
    if not isinstance(facet, Mapping):
        return []
    fields = _mapping(facet.get("fields", {}), "columnLineage.fields")
    edges = []
    for name, field in fields.items():
        for source, kinds in _input_fields(_mapping(field, "a columnLineage field").get("inputFields")):
            edges += [ColumnEdge(source=source, target=ColumnRef(dataset=target, column=str(name)), kind=kind)
                      for kind in kinds]
    for source, _ in _input_fields(facet.get("dataset")):  # filters, joins, groupings: every field
        edges += [ColumnEdge(source=source, target=ColumnRef(dataset=target, column=str(name)), kind="indirect")
                  for name in fields]
    return edges


def _input_fields(items: Any) -> list[tuple[ColumnRef, list[Literal["direct", "indirect"]]]]:
    found = []
    for item in _list(items, "inputFields"):
        item = _mapping(item, "an input field")
        ref = given_ref(_required(item, "namespace"), _required(item, "name"))
        types = {str(t.get("type", "")).upper() for t in _list(item.get("transformations"), "transformations")
                 if isinstance(t, Mapping)}
        kinds: list[Literal["direct", "indirect"]] = [kind for kind in ("direct", "indirect") if kind.upper() in types]
        kinds = kinds or ["direct"]
        found.append((ColumnRef(dataset=ref, column=_required(item, "field")), kinds))
    return found


# -- the shapes the spec gives: a wrong one is bad input, said in a ParseIssue

def _facets(item: Mapping[str, Any]) -> Mapping[str, Any]:
    facets = item.get("facets")
    return facets if isinstance(facets, Mapping) else {}


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadEvent(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadEvent(f"{what} is not a list")
    return value


def _required(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise BadEvent(f"no {key} (a non-empty string) in {json.dumps(item, sort_keys=True)[:120]}")
    return value


def _text(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadEvent(f"{what} is not a string")
    return value
