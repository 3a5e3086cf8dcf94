"""What a database session carries from one statement to the next: the defaults that qualify
bare names (``USE``, ``SET search_path``) and its temporary tables.

Temporary tables are private to their session and gone at its end, so they are not datasets:
what was written into one flows through it, and ``A -> tmp -> B`` is recorded as ``A -> B``.
Two sessions may use the same temporary table name at the same time; each has its own.

>>> from parsers import DatasetRef, Evidence, JobRef, LineageEvent, Origin
>>> def ev(inputs, outputs, kind="INSERT", facets=None):
...     return LineageEvent(job=JobRef(namespace="pg", name=kind), statement_kind=kind,
...         evidence=Evidence(source_type="t", origin=Origin(path="/log")), dataset_facets=facets or {},
...         inputs=tuple(DatasetRef(namespace="pg", name=n) for n in inputs),
...         outputs=tuple(DatasetRef(namespace="pg", name=n) for n in outputs))
>>> session = Session()
>>> session.resolve([ev(["raw.a"], ["batch"], "CREATE TABLE AS", {"pg/batch": {"kind": "temporary"}})])
[]
>>> [(e.inputs[0].name, e.outputs[0].name) for e in session.resolve([ev(["batch"], ["mart.b"])])]
[('raw.a', 'mart.b')]

A session open when one crawl ends goes on in the next, from its state's canonical JSON form:

>>> again = Session.from_state(session.to_state())
>>> [(e.inputs[0].name, e.outputs[0].name) for e in again.resolve([ev(["batch"], ["mart.c"])])]
[('raw.a', 'mart.c')]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from parsers.model import ColumnEdge, ColumnRef, DatasetRef, LineageEvent, ParseResult, SourceRecord


class Session:
    """The state of one session, applied to its records in the order they ran."""

    def __init__(self) -> None:
        self.defaults: dict[str, str] = {}
        self._temporary: dict[DatasetRef, set[DatasetRef]] = {}
        # What each column of a temporary table was computed from: {(table, column): {edge kind: sources}}.
        self._columns: dict[tuple[DatasetRef, str], dict[str, set[ColumnRef]]] = {}

    def to_state(self) -> dict[str, Any]:
        """The defaults and temporary tables (each with what was written into it) as JSON; empty
        for a session that set nothing."""
        temporary = [[ref.to_dict(), [real.to_dict() for real in sorted(behind, key=_order)]]
                     for ref, behind in sorted(self._temporary.items(), key=lambda item: _order(item[0]))]
        columns = [[ref.to_dict(), column, kind, [source.to_dict() for source in sorted(sources, key=_column_order)]]
                   for (ref, column), kinds in sorted(self._columns.items(), key=lambda i: (_order(i[0][0]), i[0][1]))
                   for kind, sources in sorted(kinds.items())]
        state: dict[str, Any] = {"defaults": dict(sorted(self.defaults.items())), "temporary": temporary,
                                 "columns": columns}
        return {key: value for key, value in state.items() if value}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Session:
        session = cls()
        session.defaults.update(state.get("defaults", {}))
        for ref, behind in state.get("temporary", []):
            session._temporary[DatasetRef.from_dict(ref)] = {DatasetRef.from_dict(real) for real in behind}
        for ref, column, kind, sources in state.get("columns", []):
            found = session._columns.setdefault((DatasetRef.from_dict(ref), column), {}).setdefault(kind, set())
            found.update(ColumnRef.from_dict(source) for source in sources)
        return session

    def prepare(self, record: SourceRecord) -> SourceRecord:
        """The record as the session saw it: with the defaults earlier statements set."""
        if not self.defaults and not self._temporary:
            return record
        path = tuple(name for name in self.defaults.get("search_path", "").split(",") if name)
        search_path = path if len(path) > 1 else record.search_path
        temporary = tuple(sorted(ref.name for ref in self._temporary))
        return dataclasses.replace(record, database=self.defaults.get("database", record.database),
                                   schema=self.defaults.get("schema", record.schema),
                                   search_path=search_path, temporary=temporary)

    def observe(self, result: ParseResult) -> list[LineageEvent]:
        """Take in what a record changed; return its events with temporary tables resolved."""
        if result.sets:
            changes = dict(result.sets)
            if "schema" in changes and "search_path" not in changes:
                self.defaults.pop("search_path", None)  # USE SCHEMA s: one schema, no path
            self.defaults.update(changes)
        return self.resolve(result.events)

    def resolve(self, events: Iterable[LineageEvent]) -> list[LineageEvent]:
        resolved = []
        for event in events:
            made = (*event.outputs, *(c.dataset for c in event.lifecycle if c.event == "create_like")) \
                if event.lifecycle else event.outputs
            for ref in made:  # (CREATE TEMP TABLE b (LIKE a) makes b with no rows: a lifecycle event)
                if event.dataset_facets.get(ref.qualified, {}).get("kind") == "temporary":
                    self._temporary.setdefault(ref, set())
            if event.lifecycle:
                event = self._lifecycle(event)
            if not self._temporary:
                resolved.append(event)  # most sessions never make one: nothing to see through
                continue
            inputs = self._behind(event.inputs)
            indirect = self._behind(event.indirect)
            if indirect:  # a real table behind a filtering temporary one filters; one read directly too does not
                direct = set(self._behind(tuple(ref for ref in event.inputs if ref not in event.indirect)))
                indirect = tuple(ref for ref in indirect if ref not in direct)
            temporary = [ref for ref in event.outputs if ref in self._temporary]
            for ref in temporary:
                self._temporary[ref].update(inputs)
            outputs = tuple(ref for ref in event.outputs if ref not in self._temporary)
            edges = self._column_edges(event.column_edges)
            if not outputs and temporary:
                continue  # it only filled a temporary table: its data flows on through later reads
            if inputs != event.inputs or outputs != event.outputs or edges != event.column_edges \
                    or indirect != event.indirect:
                event = dataclasses.replace(event, inputs=inputs, outputs=outputs, column_edges=edges,
                                            indirect=indirect)
            resolved.append(event)
        return resolved

    def _lifecycle(self, event: LineageEvent) -> LineageEvent:
        """An event without the changes it makes to temporary tables (they are no datasets: a
        dropped one left a phantom dataset behind); a dropped one is forgotten, so a later table
        of that name is a table."""
        kept = []
        for change in event.lifecycle:
            if change.dataset in self._temporary or _temporary_by_name(change.dataset):
                if change.event == "drop":
                    self._forget(change.dataset)
                continue
            kept.append(change)
        return event if len(kept) == len(event.lifecycle) else dataclasses.replace(event, lifecycle=tuple(kept))

    def _forget(self, ref: DatasetRef) -> None:
        self._temporary.pop(ref, None)
        for key in [key for key in self._columns if key[0] == ref]:
            del self._columns[key]

    def _column_edges(self, edges: tuple[ColumnEdge, ...]) -> tuple[ColumnEdge, ...]:
        """Column edges seen through temporary tables: ``b.x <- tmp.x <- a.x`` is ``b.x <- a.x``;
        edges into a temporary table are remembered, not kept."""
        if not self._temporary:
            return edges
        kept: dict[ColumnEdge, None] = {}
        for edge in edges:
            for kind, source in self._sources_behind(edge):
                if edge.target.dataset in self._temporary:
                    self._columns.setdefault((edge.target.dataset, edge.target.column), {}).setdefault(
                        kind, set()).add(source)
                else:
                    kept[ColumnEdge(source=source, target=edge.target, kind=kind)] = None  # type: ignore[arg-type]
        return tuple(kept)

    def _sources_behind(self, edge: ColumnEdge) -> list[tuple[str, ColumnRef]]:
        if edge.source.dataset not in self._temporary:
            return [(edge.kind, edge.source)]
        behind = self._columns.get((edge.source.dataset, edge.source.column), {})
        return [("indirect" if edge.kind == "indirect" else kind, source)
                for kind, sources in sorted(behind.items()) for source in sorted(sources, key=_column_order)]

    def _behind(self, refs: tuple[DatasetRef, ...]) -> tuple[DatasetRef, ...]:
        found: dict[DatasetRef, None] = {}
        for ref in refs:
            for real in sorted(self._temporary[ref], key=lambda r: r.name) if ref in self._temporary else [ref]:
                found[real] = None
        return tuple(found)


def _temporary_by_name(ref: DatasetRef) -> bool:
    """SQL Server's #local and ##global temporary tables are temporary by their names alone."""
    return ref.name.rsplit(".", 1)[-1].startswith("#")


def _order(ref: DatasetRef) -> tuple[str, str]:
    return ref.namespace, ref.name


def _column_order(ref: ColumnRef) -> tuple[str, str, str]:
    return ref.dataset.namespace, ref.dataset.name, ref.column
