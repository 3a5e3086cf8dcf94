"""The lineage of a whole script: what it reads and writes once its intermediate tables are
seen through.

A temporary table, and a table the script creates and later drops, only carries data from one
statement to the next: ``A -> tmp -> B`` is reported as ``A -> B``, for tables and for columns.
The statements themselves still name the intermediate (the evidence of how data went).

>>> from parsers.naming import NameContext
>>> from parsers.sql.lineage import analyze
>>> script = resolve(analyze(
...     "create temp table recent as select id, amount from raw.payments; "
...     "insert into mart.totals (id, total) select id, amount * 2 from recent",
...     NameContext.of("postgres"), columns=True))
>>> [d.name for d in script.sources], [d.name for d in script.targets]
(['raw.payments'], ['mart.totals'])
>>> [(f.target, f.sources, f.kind) for f in script.columns]
[('mart.totals.id', ('raw.payments.id',), 'direct'), ('mart.totals.total', ('raw.payments.amount',), 'direct')]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from parsers.model import ColumnRef, DatasetEvent, DatasetRef
from parsers.sql.lineage import StatementLineage


@dataclasses.dataclass(frozen=True, slots=True)
class ScriptFlow:
    """``target`` (``table.column``, or an output name for a plain SELECT) depends on ``sources``."""

    target: str
    sources: tuple[str, ...]
    kind: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScriptLineage:
    sources: tuple[DatasetRef, ...]
    targets: tuple[DatasetRef, ...]
    columns: tuple[ScriptFlow, ...]
    lifecycle: tuple[DatasetEvent, ...]
    intermediates: tuple[DatasetRef, ...]


_CREATING = ("CREATE", "SELECT INTO", "CACHE")


def intermediates(statements: list[StatementLineage]) -> set[DatasetRef]:
    """Temporary tables, and tables the script creates, then reads, then drops.

    Order decides: a drop before the create is how a nightly script rebuilds a table, which
    stays a target (``DROP TABLE IF EXISTS t; CREATE TABLE t AS ...``)."""
    return set().union(*passing_at(statements))


def passing_at(statements: list[StatementLineage]) -> list[set[DatasetRef]]:
    """For each statement, the intermediate tables it sees: a temporary table from the statement
    that creates it to the one that drops it, a table the script creates, reads and drops over that
    span, and SQL Server's and Redshift's ``#name`` tables throughout. Before its creation and after
    its drop, the same name is a real table."""
    spans = _spans(statements)
    hashed = {ref for s in statements for ref in (*s.inputs, *s.outputs) if ref.name.rsplit(".", 1)[-1].startswith("#")}
    return [hashed | {ref for ref, first, last in spans if first <= index <= last} for index in range(len(statements))]


def _spans(statements: list[StatementLineage]) -> list[tuple[DatasetRef, int, int]]:
    temporary: dict[DatasetRef, int] = {}  # open temporary tables: where each was created
    created: dict[DatasetRef, int] = {}  # open real tables the script created
    read: set[DatasetRef] = set()
    spans = []
    for index, statement in enumerate(statements):
        read |= created.keys() & set(statement.inputs)
        for change in statement.lifecycle:
            if change.event == "drop" and change.dataset in temporary:
                spans.append((change.dataset, temporary.pop(change.dataset), index))
            elif change.event == "drop" and change.dataset in created:
                first = created.pop(change.dataset)
                if change.dataset in read:
                    spans.append((change.dataset, first, index))
            if change.event == "drop":
                read.discard(change.dataset)
        for ref in _made(statement):
            if statement.output_kind == "temporary":
                temporary.setdefault(ref, index)
            elif statement.kind.startswith(_CREATING) and ref not in temporary:
                created.setdefault(ref, index)
    return spans + [(ref, first, len(statements) - 1) for ref, first in temporary.items()]


def _made(statement: StatementLineage) -> list[DatasetRef]:
    made = list(statement.outputs) if statement.kind.startswith(_CREATING) or statement.output_kind == "temporary" \
        else []
    return made + [change.dataset for change in statement.lifecycle if change.event == "create_like"]


def resolve(statements: list[StatementLineage]) -> ScriptLineage:
    phases = passing_at(statements)
    behind: dict[DatasetRef, dict[DatasetRef, None]] = {}
    columns = _Columns()
    sources: dict[DatasetRef, None] = {}
    targets: dict[DatasetRef, None] = {}
    lifecycle = []
    for statement, passing in zip(statements, phases, strict=True):
        read = {real: None for ref in statement.inputs
                for real in (behind.get(ref, {}) if ref in passing else {ref: None})}
        sources.update(read)
        for ref in statement.outputs:
            if ref in passing:
                behind.setdefault(ref, {}).update(read)
            else:
                targets[ref] = None
        columns.add(statement, passing)
        lifecycle += [change for change in statement.lifecycle if change.dataset not in passing]
    return ScriptLineage(
        sources=tuple(sources),
        targets=tuple(targets),
        columns=tuple(columns.flows),
        lifecycle=tuple(lifecycle),
        intermediates=tuple(sorted(set().union(*phases), key=lambda ref: ref.name)),
    )


class _Columns:
    """Column flows of a script, composed through the intermediate tables' columns."""

    def __init__(self) -> None:
        self.flows: list[ScriptFlow] = []
        self._behind: dict[tuple[DatasetRef, str], dict[str, set[ColumnRef]]] = {}

    def add(self, statement: StatementLineage, passing: set[DatasetRef]) -> None:
        first = statement.outputs[0] if statement.outputs else None
        for flow in statement.column_flows:
            target = flow.table or first
            found: dict[str, set[ColumnRef]] = {"direct": set(), "indirect": set()}
            for source in flow.sources:
                for kind, refs in self._through(source, flow.kind, passing).items():
                    found[kind] |= refs
            if target is not None and target in passing:
                for kind, refs in found.items():
                    self._behind.setdefault((target, flow.target), {}).setdefault(kind, set()).update(refs)
                continue
            name = f"{display_name(target)}.{flow.target}" if target is not None else flow.target
            for kind in ("direct", "indirect"):
                if found[kind]:
                    self.flows.append(ScriptFlow(target=name, sources=_names(found[kind]), kind=kind))

    def _through(self, source: ColumnRef, kind: str, passing: set[DatasetRef]) -> dict[str, set[ColumnRef]]:
        if source.dataset not in passing:
            return {kind: {source}}
        behind = self._behind.get((source.dataset, source.column), {})
        if kind == "indirect":  # what decides a value decides it through every column behind it
            return {"indirect": set().union(*behind.values())}
        return {k: set(v) for k, v in behind.items()}


def _names(refs: Iterable[ColumnRef]) -> tuple[str, ...]:
    return tuple(sorted(f"{display_name(ref.dataset)}.{ref.column}" if ref.dataset.name else ref.column
                        for ref in refs))


_OBJECT_STORES = ("s3://", "s3a://", "gs://", "abfss://", "wasbs://", "hdfs://", "dbfs://", "https://", "http://")


def display_name(ref: DatasetRef) -> str:
    """A dataset as the SQL named it: the concrete table or path (not its cluster), with the
    object store's bucket for URLs."""
    name = ref.member or ref.name
    if ref.namespace.startswith(_OBJECT_STORES):
        return f"{ref.namespace}/{name}"
    return name
