"""Lineage a warehouse claims for a statement it ran (Snowflake's ACCESS_HISTORY, BigQuery's
``referenced_tables``), carried by the record as ``claimed_inputs`` and ``claimed_outputs``
(comma-separated table names): it stands in where the parse of the text found none, because
the text was cut short or is beyond the parser.

>>> from parsers.model import Origin, SourceRecord
>>> record = SourceRecord(source_type="warehouse_history", origin=Origin(path="/history.csv", line=7),
...     text="INSERT INTO ml.overrides SELECT * FROM staging.customers WHERE id IN (1, 2", dialect="snowflake",
...     namespace="snowflake://default", attributes={"claimed_inputs": "CREDIT.STAGING.CUSTOMERS",
...                                                  "claimed_outputs": "CREDIT.ML.OVERRIDES"})
>>> result = parse_with_claims(record)
>>> [(e.job_title, [r.name for r in e.inputs]) for e in result.events], [i.code for i in result.issues]
([('INSERT CREDIT.ML.OVERRIDES', ['CREDIT.STAGING.CUSTOMERS'])], ['unparseable_sql'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlglot.errors import SqlglotError

from parsers.fingerprint import digest
from parsers.model import DatasetRef, Evidence, JobRef, LineageEvent, ParseIssue, ParseResult, RunRef, SourceRecord
from parsers.naming import NameContext, parse_table, table_ref
from parsers.sql.events import parse_sql_record
from parsers.sql.statements import split


def parse_with_claims(record: SourceRecord) -> ParseResult:
    """The parse of ``record``'s SQL; where it gave no lineage, one event of the tables the
    warehouse claims, if it claims any (the parse's issues stay: the text is still unread)."""
    result = parse_sql_record(record)
    if not result.events:
        event = _claimed_event(record)
        result = dataclasses.replace(result, events=(event,)) if event is not None else result
    found = disagreements(record, result.events)
    return dataclasses.replace(result, issues=(*result.issues, *found)) if found else result


def _claimed_event(record: SourceRecord) -> LineageEvent | None:
    context = NameContext.of(record.dialect, namespace=record.namespace, database=record.database,
                             schema=record.schema)
    inputs, outputs = (_claimed(record, side, context) for side in ("inputs", "outputs"))
    statements = split(record.text, context.dialect) if inputs or outputs else []
    if not statements:
        return None
    statement = statements[0]  # a history's record is one statement
    kind = statement.tokens[0].text.upper() if statement.tokens else "UNPARSED"
    named = outputs or inputs
    return LineageEvent(
        job=JobRef(namespace=context.namespace, name=f"sql:{statement.fingerprint}"),
        job_title=f"{kind} {'' if outputs else 'from '}{', '.join(ref.name for ref in named)}",
        statement_kind=kind,
        inputs=inputs,
        outputs=outputs,
        run=RunRef(run_id=digest(f"{record.key()}\0{statement.start}"), started_at=record.timestamp,
                   user=record.user, session_id=record.session_id),
        evidence=Evidence(source_type=record.source_type, origin=record.origin, timestamp=record.timestamp,
                          fingerprint=statement.fingerprint, sql=statement.redacted),
    )


def _claimed(record: SourceRecord, side: str, context: NameContext) -> tuple[DatasetRef, ...]:
    refs: dict[DatasetRef, None] = {}
    for name in filter(None, record.attributes.get(f"claimed_{side}", "").split(",")):
        try:
            refs[table_ref(parse_table(name, context), context)] = None
        except SqlglotError:
            continue  # not a table name: nothing to stand in with
    return tuple(refs)


def disagreements(record: SourceRecord, events: Sequence[LineageEvent]) -> list[ParseIssue]:
    """Where the source says which tables a statement read and wrote (BigQuery's referenced_tables
    and destination_table, Snowflake's ACCESS_HISTORY), a parse that found otherwise is reported:
    one of them is wrong. Tables a statement wrote are left out of what it read on both sides: a
    warehouse counts a MERGE's target as read, the parse does not."""
    if "claimed_inputs" not in record.attributes and "claimed_outputs" not in record.attributes:
        return []  # most logs claim nothing
    claimed = {side: {name.lower() for name in record.attributes.get(f"claimed_{side}", "").split(",") if name}
               for side in ("inputs", "outputs")}
    parsed = {side: {(ref.member or ref.name).lower() for event in events for ref in getattr(event, side)
                     if ref.namespace == record.namespace}  # tables of this warehouse, not files
              for side in ("inputs", "outputs")}
    found = []
    for side in ("inputs", "outputs"):
        if f"claimed_{side}" not in record.attributes:
            continue
        said, seen = claimed[side], parsed[side]
        if side == "inputs":
            said, seen = said - claimed["outputs"], seen - parsed["outputs"]
        if said != seen:
            found.append(ParseIssue(
                code="source_disagrees", severity="warning", origin=record.origin,
                message=f"the log says the statement's {side} are {sorted(said)}, the parse found {sorted(seen)}"))
    return found
