"""From a SQL source record to lineage events: one per statement that moves data."""

from __future__ import annotations

import dataclasses
from typing import Any

from parsers import catalog
from parsers.fingerprint import digest
from parsers.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEvent,
    Evidence,
    JobRef,
    LineageEvent,
    Origin,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.naming import NameContext
from parsers.sql.lineage import StatementLineage, analyze, redacted_repeat

# Texts longer than this are not parsed: a generated 50 MB INSERT ... VALUES would hold the
# crawl for minutes and tell nothing a template of it does not. Reported, and the crawl goes on.
MAX_SQL_CHARS = 4_000_000


def parse_sql_record(record: SourceRecord) -> ParseResult:
    """Lineage events and issues of a record whose text is SQL.

    >>> from parsers.model import Origin, SourceRecord
    >>> record = SourceRecord(source_type="sql_file", origin=Origin(path="/elt.sql", line=1, byte_offset=0),
    ...     text="insert into ml.scores select * from raw.customers where limit_usd > 5000", dialect="postgres")
    >>> event = parse_sql_record(record).events[0]
    >>> event.job_title, event.evidence.sql
    ('INSERT ml.scores from raw.customers', 'insert into ml.scores select * from raw.customers where limit_usd > ?')
    """
    if len(record.text) > MAX_SQL_CHARS:
        return ParseResult(record_key=record.key(), issues=(ParseIssue(
            code="statement_too_large", origin=record.origin, snippet=record.text[:80].split("'")[0],
            message=f"{len(record.text):,} characters of SQL, over the {MAX_SQL_CHARS:,} parsed: skipped"),))
    context = _context(record)
    events = []
    issues: list[ParseIssue] = []
    sets: dict[str, str] = {}
    record_key = record.key()
    found = analyze(record.text, context, columns=True)
    for lineage in found:
        sets.update(lineage.sets)
        origin = _statement_origin(record, lineage)
        if lineage.issues:  # (most have none: no generator made for nothing)
            issues.extend(
                ParseIssue(code=i.code, message=i.message, severity=i.severity, origin=origin,  # type: ignore[arg-type]
                           snippet=lineage.statement.redacted[:200])
                for i in lineage.issues
            )
        if lineage.has_lineage or lineage.lifecycle:
            sql = (redacted_repeat(record.text, lineage.statement, context.dialect) if len(found) == 1
                   else lineage.statement.redacted)
            events += [_event(record, record_key, part, context, origin, sql, index)
                       for index, part in enumerate(_each_move(lineage))]
    if record.attributes.get(DATABASE_UNKNOWN) and not record.database:
        events, issues = _without_database(record, events, issues)
    return ParseResult(record_key=record_key, events=tuple(events), issues=tuple(issues), sets=tuple(sets.items()))


# Name contexts by what they are made of: a query log's records share a few (one per database,
# schema and search path), found again in a lookup rather than made for every record. The entry
# holds the catalog, so its id in the key cannot be reused while the entry lives.
_CONTEXTS: dict[tuple[Any, ...], NameContext] = {}
_CONTEXTS_MAX = 1024


def _context(record: SourceRecord) -> NameContext:
    known = catalog.current()
    key = (record.dialect, record.namespace, record.database, record.schema, record.search_path, record.temporary,
           id(known))
    context = _CONTEXTS.get(key)
    if context is None:
        if len(_CONTEXTS) >= _CONTEXTS_MAX:
            _CONTEXTS.clear()
        context = _CONTEXTS[key] = NameContext.of(
            record.dialect, namespace=record.namespace, database=record.database, schema=record.schema,
            search_path=record.search_path, temporary=record.temporary, catalog=known)
    return context


# A record attribute: the log began in the middle of this statement's session (a MySQL thread
# with no Connect or Init DB in the log), so the database its bare names mean is not known.
DATABASE_UNKNOWN = "database_unknown"
UNKNOWN_DATABASE_CONFIDENCE = 0.5


def _without_database(record: SourceRecord, events: list[LineageEvent],
                      issues: list[ParseIssue]) -> tuple[list[LineageEvent], list[ParseIssue]]:
    """Events naming a table without its database, at less confidence and with a warning,
    rather than bare names passed off as the whole truth."""
    bare = sorted({ref.name for event in events for ref in (*event.inputs, *event.outputs) if "." not in ref.name})
    if not bare:
        return events, issues
    lowered = [dataclasses.replace(event, confidence=min(event.confidence, UNKNOWN_DATABASE_CONFIDENCE))
               for event in events]
    warning = ParseIssue(code="unknown_database", severity="warning", origin=record.origin,
                         snippet=record.text[:80].split("'")[0],
                         message=f"{', '.join(bare)}: named without a database, and the session began before "
                                 "the log (no Connect or USE seen): the database is not known")
    return lowered, [*issues, warning]


def _each_move(lineage: StatementLineage) -> list[StatementLineage]:
    """A statement of several renames (``RENAME TABLE t TO t_old, t_new TO t``) as one lineage per
    rename: each moves its own table's data, not every table's into every new name."""
    if len(lineage.lifecycle) < 2:
        return [lineage]  # (most statements: no list of moves made for nothing)
    moves = [change for change in lineage.lifecycle if change.event == "rename" and change.other is not None]
    if len(moves) < 2:
        return [lineage]
    return [dataclasses.replace(lineage, inputs=(move.dataset,), outputs=(move.other,),  # type: ignore[arg-type]
                                lifecycle=lineage.lifecycle if index == 0 else (),
                                column_flows=tuple(f for f in lineage.column_flows if f.table == move.other))
            for index, move in enumerate(moves)]


def _statement_origin(record: SourceRecord, lineage: StatementLineage) -> Origin:
    base = record.origin
    statement = lineage.statement
    if statement.start == 0 and statement.line == 1 and base.line is not None:
        return base  # a one-statement record (most of a query log): where the record is
    line = (base.line or 1) + statement.line - 1
    offset = None
    if base.byte_offset is not None:
        offset = base.byte_offset + len(record.text[: statement.start].encode("utf-8", "surrogatepass"))
    return Origin(path=base.path, line=line, byte_offset=offset)


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    """What every event of one statement template has in common. Built once per cached parse
    result: the graph folds events that share these very objects as repeats of one shape."""

    job: JobRef
    title: str
    lifecycle: tuple[DatasetEvent, ...]
    facets: dict[str, dict[str, Any]]
    column_edges: tuple[ColumnEdge, ...]


# Shapes by what they are made of: the objects of the cached parse result they came from (a
# repeat answered by the fingerprint cache is a copy of it with its own statement, which keeps
# those very objects). The entry holds that result, so no id in its key can be reused while the
# entry lives.
_SHAPES: dict[tuple[Any, ...], tuple[StatementLineage, _Shape]] = {}
_SHAPES_MAX = 8192


def _shape(lineage: StatementLineage, context: NameContext, part: int = 0) -> _Shape:
    key = (part, id(lineage.inputs), id(lineage.outputs), id(lineage.lifecycle), id(lineage.column_flows),
           id(lineage.columns), id(lineage.output_columns), lineage.kind, lineage.output_kind, lineage.routine,
           lineage.statement.fingerprint, context.namespace)
    entry = _SHAPES.get(key)
    if entry is not None:
        return entry[1]
    shape = _Shape(
        # A statement in a procedure's body is the procedure's work: the procedure is the job.
        job=JobRef(namespace=context.namespace,
                   name=(f"routine:{lineage.routine}" if lineage.routine else f"sql:{lineage.statement.fingerprint}")
                   + (f"#{part + 1}" if part else "")),  # each rename of a statement moves its own data
        title=f"ROUTINE {lineage.routine}" if lineage.routine else _title(lineage),
        lifecycle=lineage.lifecycle,
        facets=_facets(lineage),
        column_edges=_column_edges(lineage),
    )
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[key] = (lineage, shape)
    return shape


def _facets(lineage: StatementLineage) -> dict[str, dict[str, Any]]:
    facets: dict[str, dict[str, Any]] = {ref.qualified: {"kind": lineage.output_kind} for ref in lineage.outputs}
    for change in lineage.lifecycle:  # CREATE TEMP TABLE b (LIKE a): b is made, of its kind, with no rows yet
        if change.event == "create_like":
            facets.setdefault(change.dataset.qualified, {"kind": lineage.output_kind})
    if lineage.columns and lineage.outputs:
        facets[lineage.outputs[0].qualified]["schema"] = dict(lineage.columns)
    elif lineage.kind.startswith("CREATE") and lineage.outputs and lineage.output_columns \
            and "*" not in lineage.output_columns:  # CREATE TABLE AS, CREATE VIEW: names, types unknown
        facets[lineage.outputs[0].qualified]["schema"] = dict.fromkeys(lineage.output_columns, "")
    return facets


def _event(
    record: SourceRecord, record_key: str, lineage: StatementLineage, context: NameContext, origin: Origin, sql: str,
    part: int = 0,
) -> LineageEvent:
    shape = _shape(lineage, context, part)
    return LineageEvent(
        job=shape.job,
        job_title=shape.title,
        lifecycle=shape.lifecycle,
        statement_kind=lineage.kind,
        inputs=lineage.inputs,
        outputs=lineage.outputs,
        indirect=lineage.indirect,
        column_edges=shape.column_edges,
        dataset_facets=shape.facets,
        run=RunRef(
            run_id=digest(f"{record_key}\0{lineage.statement.start}" + (f"\0{part}" if part else "")),
            started_at=record.timestamp,
            user=record.user,
            session_id=record.session_id,
            facets={"application": record.application} if record.application else {},
        ),
        evidence=Evidence(
            source_type=record.source_type,
            origin=origin,
            timestamp=record.timestamp,
            fingerprint=lineage.statement.fingerprint,
            sql=sql,
        ),
        confidence=lineage.confidence,
    )


def _column_edges(lineage: StatementLineage) -> tuple[ColumnEdge, ...]:
    """Column edges into the statement's output table, for the columns placed in a table."""
    if not lineage.outputs:
        return ()
    target = lineage.outputs[0]
    return tuple(
        ColumnEdge(source=source, target=ColumnRef(dataset=flow.table or target, column=flow.target),
                   kind=flow.kind)  # type: ignore[arg-type]
        for flow in lineage.column_flows if flow.target != "*"
        for source in flow.sources if source.dataset.name and source.column != "*"
    )


def _title(lineage: StatementLineage) -> str:
    """A readable job name: what the template does to what, from what (its first two sources;
    a store tells apart jobs whose titles are still the same, see graph.labels)."""
    if lineage.lifecycle and not lineage.outputs:
        return f"{lineage.kind} {', '.join(c.dataset.name for c in lineage.lifecycle)}"
    sources = [ref for ref in lineage.inputs if ref not in lineage.outputs]
    names = ", ".join(ref.name for ref in sources[:2])
    more = f" +{len(sources) - 2}" if len(sources) > 2 else ""
    if lineage.outputs:
        targets = ", ".join(ref.name for ref in lineage.outputs)
        return f"{lineage.kind} {targets} from {names}{more}" if sources else f"{lineage.kind} {targets}"
    return f"{lineage.kind} from {names}{more}"
