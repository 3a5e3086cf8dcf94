"""A Spark event-log record (one SQL execution with its nested ones, or one RDD job that read
files) as a lineage event: the application is the job, the execution its run (the application
attempt is the run's session), the scans its inputs and the write commands its outputs.

Steps: executions -> scans and writes (:mod:`parsers.spark.plans`) -> names
(:mod:`parsers.spark.names`) -> outputs (tables with their locations, paths, a view through the
SQL engine, a saved model) -> inputs -> event.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from parsers import catalog
from parsers.catalog import Catalog
from parsers.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEvent,
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    Origin,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.redact import redact_text
from parsers.spark import columns, names, plans
from parsers.sql.events import parse_sql_record

EVIDENCE_CHARS = 600
_WRITE_LIKE = re.compile(r"Insert|Write|Save|Append|Overwrite|AsSelect|MergeInto|ReplaceData|Delete|Update")


@dataclasses.dataclass(slots=True)
class _Found:
    """What the executions of one record read and wrote, as datasets, with their facets."""

    namespace: str
    default_fs: str | None
    warehouse: str | None
    catalog: Catalog | None = None
    inputs: dict[DatasetRef, None] = dataclasses.field(default_factory=dict)
    outputs: dict[DatasetRef, None] = dataclasses.field(default_factory=dict)
    facets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    lifecycle: list[DatasetEvent] = dataclasses.field(default_factory=list)
    columns: dict[ColumnEdge, None] = dataclasses.field(default_factory=dict)
    issues: list[ParseIssue] = dataclasses.field(default_factory=list)
    kinds: list[str] = dataclasses.field(default_factory=list)
    sql: str | None = None

    def located(self, ref: DatasetRef, uri: str | None) -> None:
        """Table ``ref`` lives at ``uri``: kept on it, and known to later reads and writes by path."""
        if uri:
            self.facet(ref, location=uri)
            if self.catalog is not None:
                self.catalog.add_location(uri, ref)

    def facet(self, ref: DatasetRef, **values: Any) -> None:
        self.facets.setdefault(ref.qualified, {}).update({k: v for k, v in values.items() if v})


def parse_spark_record(record: SourceRecord) -> ParseResult:
    """The lineage of one Spark event-log record (built by the crawler's event-log reader)."""
    try:
        bundle = json.loads(record.text)
    except ValueError as error:
        return ParseResult(record_key=record.key(), issues=(ParseIssue(
            code="bad_record", origin=record.origin, message=f"not a Spark event-log record: {error}"),))
    application = bundle.get("application") or {}
    found = _Found(namespace=record.namespace or _catalog_namespace(application),
                   default_fs=application.get("default_fs"), warehouse=application.get("warehouse"),
                   catalog=catalog.current())
    try:
        if "rdd_inputs" in bundle:
            for path in bundle["rdd_inputs"]:
                _add_path(found, found.inputs, str(path))
            found.kinds.append("RDD")
        else:
            _executions(found, bundle.get("executions") or [], bundle.get("earlier_scans") or [], record)
    except (AttributeError, KeyError, TypeError, ValueError) as error:  # events of shapes no Spark writes
        return ParseResult(record_key=record.key(), issues=(ParseIssue(
            code="bad_record", origin=record.origin, message=f"a Spark event of an unexpected shape: {error!r}"),))
    executions = bundle.get("executions") or [{}]
    step = f"job{bundle['job']}" if "job" in bundle else str(executions[0].get("executionId"))
    event = _event(record, application, found, step)
    return ParseResult(record_key=record.key(), events=(event,) if event else (), issues=tuple(found.issues))


def _catalog_namespace(application: Mapping[str, Any]) -> str:
    """Tables of a Hive metastore are Hive's (as a Hive query log names them); those of Spark's
    in-memory catalog are Spark's."""
    implementation = (application.get("properties") or {}).get("spark.sql.catalogImplementation")
    return "hive://default" if implementation == "hive" else "spark://default"


def _executions(found: _Found, executions: list[dict[str, Any]], earlier: list[dict[str, Any]],
                record: SourceRecord) -> None:
    family = [(execution, plans.writes(execution.get("sparkPlanInfo"), execution.get("physicalPlanDescription", "")))
              for execution in executions]
    _unknown_commands(found, executions, record)
    created = [write for _, writes in family for write in writes
               if write.command in plans.CREATES_TABLE and write.table]
    model = any("org.apache.spark.ml." in execution.get("details", "") for execution in executions)
    for execution, writes in family:
        description = execution.get("physicalPlanDescription", "")
        for write in writes:
            target = _output(found, write, created, model, record)
            if target is not None and write.columns:
                _column_edges(found, description, write, target)
    if found.outputs and all(found.facets.get(ref.qualified, {}).get("kind") == "model-artifact"
                             for ref in found.outputs):
        for scan in earlier:  # what the application read before it saved the model: its training data
            for ref in _scan_refs(found, plans.scans(scan)):
                if ref in found.outputs:
                    del found.inputs[ref]
    for execution in executions:
        _scan_refs(found, plans.scans(execution.get("sparkPlanInfo")))
        for table in plans.logical_tables(execution.get("physicalPlanDescription", "")):
            found.inputs.setdefault(names.table_ref(table, found.namespace))


def _scan_refs(found: _Found, scans: Iterable[plans.Scan]) -> list[DatasetRef]:
    """The datasets scans read, added to the inputs with what the scans tell of them."""
    refs: list[DatasetRef] = []
    for scan in scans:
        if scan.jdbc and scan.query:
            refs.extend(_query_inputs(found, scan.query))
            continue
        if scan.jdbc:
            ref = names.jdbc_ref(scan.table or "")
        elif scan.table:
            ref = names.table_ref(scan.table, found.namespace)
            location = scan.paths[0] if len(scan.paths) == 1 and not scan.partition_columns else None
            found.located(ref, location and names.normal_path(location, found.default_fs))
            found.facet(ref, schema=scan.read_schema or None)
        else:
            refs.extend(dict.fromkeys(_add_path(found, found.inputs, path, scan.partition_columns, scan.read_schema)
                                      for path in scan.paths))
            continue
        found.inputs.setdefault(ref)
        refs.append(ref)
    return refs


def _column_edges(found: _Found, description: str, write: plans.Write, target: DatasetRef) -> None:
    """Column edges of a file write whose plan shows, position by position, what it writes."""
    written = columns.write_input(description)
    if len(written) != len(write.columns):
        return
    sources: dict[str, list[ColumnRef]] = {}
    for scan, outputs in columns.scan_columns(description):
        refs = _scan_refs(found, [scan])
        for attribute, column in outputs.items():
            sources.setdefault(attribute, []).extend(ColumnRef(dataset=ref, column=column) for ref in refs)
    defined = columns.definitions(description)
    for name, attribute in zip(write.columns, written, strict=True):
        destination = ColumnRef(dataset=target, column=name)
        for origin in sorted(columns.origins(attribute, defined)):
            for source in sources.get(origin, []):
                if source != destination:
                    found.columns.setdefault(ColumnEdge(source=source, target=destination))


def _add_path(found: _Found, into: dict[DatasetRef, None], path: str, partitions: tuple[str, ...] = (),
              schema: Mapping[str, str] | None = None) -> DatasetRef:
    """A path read or written: the table it is the location of (one a plan showed living there,
    or a managed table in the warehouse directory), or a file dataset."""
    uri = names.normal_path(path, found.default_fs)
    known = found.catalog.locate(uri) if found.catalog is not None else None
    table = names.warehouse_table(path, found.warehouse) if known is None else None
    if known is not None or table is not None:
        ref = known or names.table_ref(table or "", found.namespace)
        found.facet(ref, location=uri if table else None, schema=dict(schema or {}))
    else:
        columns = _partitions_of(path, partitions)
        ref = names.path_ref(path, found.default_fs, columns)
        found.facet(ref, kind="file", schema=dict(schema or {}))
        if columns:  # a later read of the directory that shows no partition column is this cluster too
            found.located(ref, uri)
    into.setdefault(ref)
    return ref


def _partitions_of(path: str, partitions: tuple[str, ...]) -> tuple[str, ...]:
    """Partition columns a path does not already name as its own directories."""
    return tuple(column for column in partitions if f"/{column}=" not in path)


def _output(found: _Found, write: plans.Write, created: list[plans.Write], model: bool,
            record: SourceRecord) -> DatasetRef | None:
    """Add what ``write`` writes to the outputs; return the dataset its columns go to (None for
    a lifecycle change, a view or a model)."""
    found.kinds.append(_kind(write))
    if found.sql is None:
        found.sql = redact_text(write.line)[:EVIDENCE_CHARS]
    if write.lifecycle is not None:
        ref = names.table_ref(write.table or "", found.namespace)
        other = names.table_ref(write.other, found.namespace) if write.other else None
        found.lifecycle.append(DatasetEvent(event=write.lifecycle, dataset=ref, other=other))
        return None
    if write.view_sql is not None or write.command in plans.VIEWS:
        _view(found, write, record)
        return None
    if write.path and model and (root := names.model_root(names.normal_path(write.path, found.default_fs))):
        ref = names.path_ref(root)
        found.kinds[-1] = "SAVE MODEL"
        found.facet(ref, kind="model-artifact")
        found.outputs.setdefault(ref)
        return None
    if write.jdbc and write.table:
        ref = names.jdbc_ref(write.table)
        found.outputs.setdefault(ref)
        return ref
    table = write.table or _created_here(write, created, found)
    if table is None and write.path is not None:
        return _add_path(found, found.outputs, write.path, write.partition_columns, dict.fromkeys(write.columns, ""))
    ref = names.table_ref(table or "", found.namespace)
    found.located(ref, write.path and names.normal_path(write.path, found.default_fs))
    found.facet(ref, schema=dict.fromkeys(write.columns, "") or None, mode=write.mode,
                partitioned_by=list(write.partition_columns) or None)
    found.outputs.setdefault(ref)
    return ref


def _created_here(write: plans.Write, created: list[plans.Write], found: _Found) -> str | None:
    """The table a CTAS or ``saveAsTable`` of the same execution creates, for the write by path
    it runs as a nested execution (whose line names no table)."""
    if write.path is None or write.table is not None or not created:
        return None
    if len(created) == 1:
        return created[0].table
    location = names.warehouse_table(write.path, found.warehouse)
    return location


def _view(found: _Found, write: plans.Write, record: SourceRecord) -> None:
    ref = names.table_ref(write.table or "", found.namespace)
    found.facet(ref, kind="view")
    found.outputs.setdefault(ref)
    if not write.view_sql:
        return
    found.sql = redact_text(write.view_sql)[:EVIDENCE_CHARS]
    database, _, view = ref.name.rpartition(".")
    statement = SourceRecord(source_type="sql_trace", origin=record.origin, dialect="spark",
                             namespace=found.namespace, database=database or None,
                             text=f"CREATE VIEW {view} AS {write.view_sql}")
    for event in parse_sql_record(statement).events:
        for source in event.inputs:
            found.inputs.setdefault(source)
        if event.evidence.sql:
            found.sql = event.evidence.sql[:EVIDENCE_CHARS]


def _query_inputs(found: _Found, query: str) -> list[DatasetRef]:
    """The tables a JDBC read's query reads (Spark's ``query`` option), through the SQL engine."""
    statement = SourceRecord(source_type="sql_trace", origin=Origin(path="jdbc"), text=query, namespace="jdbc")
    refs = [names.jdbc_ref(source.name) for event in parse_sql_record(statement).events for source in event.inputs]
    for ref in refs:
        found.inputs.setdefault(ref)
    return refs


def _unknown_commands(found: _Found, executions: list[dict[str, Any]], record: SourceRecord) -> None:
    """A command that looks like a write but is none this reader knows: said, not guessed."""
    known = plans.TABLE_WRITES | plans.DIRECTORY_WRITES | plans.VIEWS | set(plans.LIFECYCLE)
    for execution in executions:
        for node in plans.nodes(execution.get("sparkPlanInfo")):
            name = plans.command_name(str(node.get("nodeName", "")))
            if name not in known and name not in ("WriteFiles", "SaveAsV1TableCommand") and _WRITE_LIKE.search(name):
                found.issues.append(ParseIssue(
                    code="unknown_spark_command", severity="warning", origin=record.origin,
                    message=f"execution {execution.get('executionId')}: {name} is not a write this crawler "
                            "reads; its target is not recorded", snippet=str(node.get("simpleString", ""))[:200]))


def _kind(write: plans.Write) -> str:
    if write.lifecycle is not None:
        return write.lifecycle.upper()
    if write.command in plans.VIEWS:
        return "CREATE VIEW"
    if write.command in plans.CREATES_TABLE:
        return "CREATE TABLE AS"
    if write.command in plans.DIRECTORY_WRITES:
        return "INSERT OVERWRITE DIRECTORY"
    return "INSERT OVERWRITE" if write.mode == "Overwrite" else "INSERT"


def _event(record: SourceRecord, application: Mapping[str, Any], found: _Found, step: str) -> LineageEvent | None:
    """The event; its run is the execution (or RDD job) ``step`` of the application attempt."""
    if not (found.inputs or found.outputs or found.lifecycle):
        return None
    attempt = record.attributes.get("attempt") or application.get("id") or "unknown"
    name = application.get("name") or attempt
    kind = found.kinds[0] if found.kinds else "SELECT"
    return LineageEvent(
        job=JobRef(namespace=found.namespace, name=f"spark:{name}"),
        job_title=f"SPARK {name}",
        statement_kind=kind,
        inputs=tuple(ref for ref in found.inputs if ref not in found.outputs or kind.startswith("INSERT")),
        outputs=tuple(found.outputs),
        column_edges=tuple(found.columns),
        dataset_facets=found.facets,
        lifecycle=tuple(found.lifecycle),
        job_facets=_job_facets(application),
        run=RunRef(run_id=f"spark:{attempt}:{step}",
                   started_at=record.timestamp, user=record.user, session_id=attempt),
        evidence=Evidence(source_type=record.source_type, timestamp=record.timestamp, sql=found.sql,
                          origin=Origin(path=record.origin.path, line=record.origin.line,
                                        byte_offset=record.origin.byte_offset)),
    )


def _job_facets(application: Mapping[str, Any]) -> dict[str, Any]:
    facets = {"spark_version": application.get("spark_version"), "spark_master": application.get("master"),
              "spark_app_id": application.get("id"), "command": application.get("command"),
              "spark_user": application.get("user")}
    return {key: value for key, value in facets.items() if value}
