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
    temporary = {ref for s in statements if s.output_kind == "temporary" for ref in s.outputs}
    temporary |= {change.dataset for s in statements for change in s.lifecycle
                  if change.event == "create_like" and s.output_kind == "temporary"}
    hashed = {ref for s in statements for ref in (*s.inputs, *s.outputs) if ref.name.rsplit(".", 1)[-1].startswith("#")}
    return temporary | hashed | _created_read_dropped(statements)  # #name: SQL Server's and Redshift's temporaries


def _created_read_dropped(statements: list[StatementLineage]) -> set[DatasetRef]:
    created: set[DatasetRef] = set()
    read: set[DatasetRef] = set()
    passing: set[DatasetRef] = set()
    for statement in statements:
        read |= created.intersection(statement.inputs)
        for change in statement.lifecycle:
            if change.event == "drop" and change.dataset in read:
                passing.add(change.dataset)
            if change.event == "drop":
                created.discard(change.dataset)
                read.discard(change.dataset)
        if statement.kind.startswith(_CREATING):
            created.update(statement.outputs)
    return passing


def resolve(statements: list[StatementLineage]) -> ScriptLineage:
    passing = intermediates(statements)
    behind: dict[DatasetRef, dict[DatasetRef, None]] = {}
    columns = _Columns(passing)
    sources: dict[DatasetRef, None] = {}
    targets: dict[DatasetRef, None] = {}
    for statement in statements:
        read = {real: None for ref in statement.inputs for real in behind.get(ref, {ref: None})}
        sources.update(read)
        for ref in statement.outputs:
            if ref in passing:
                behind.setdefault(ref, {}).update(read)
            else:
                targets[ref] = None
        columns.add(statement)
    return ScriptLineage(
        sources=tuple(ref for ref in sources if ref not in passing),
        targets=tuple(targets),
        columns=tuple(columns.flows),
        lifecycle=tuple(c for s in statements for c in s.lifecycle if c.dataset not in passing),
        intermediates=tuple(sorted(passing, key=lambda ref: ref.name)),
    )


class _Columns:
    """Column flows of a script, composed through the intermediate tables' columns."""

    def __init__(self, passing: set[DatasetRef]) -> None:
        self.passing = passing
        self.flows: list[ScriptFlow] = []
        self._behind: dict[tuple[DatasetRef, str], dict[str, set[ColumnRef]]] = {}

    def add(self, statement: StatementLineage) -> None:
        first = statement.outputs[0] if statement.outputs else None
        for flow in statement.column_flows:
            target = flow.table or first
            found: dict[str, set[ColumnRef]] = {"direct": set(), "indirect": set()}
            for source in flow.sources:
                for kind, refs in self._through(source, flow.kind).items():
                    found[kind] |= refs
            if target is not None and target in self.passing:
                for kind, refs in found.items():
                    self._behind.setdefault((target, flow.target), {}).setdefault(kind, set()).update(refs)
                continue
            name = f"{display_name(target)}.{flow.target}" if target is not None else flow.target
            for kind in ("direct", "indirect"):
                if found[kind]:
                    self.flows.append(ScriptFlow(target=name, sources=_names(found[kind]), kind=kind))

    def _through(self, source: ColumnRef, kind: str) -> dict[str, set[ColumnRef]]:
        if source.dataset not in self.passing:
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
