"""Writing lineage events into any store, idempotently: a run already stored is skipped, so a
crawl killed at any point and run again leaves the same graph."""

from __future__ import annotations

import dataclasses
import operator
import pickle
from collections.abc import Iterable, Sequence
from typing import Any

from graph.batch import Batch, Cursor, batch_of
from graph.errors import RunsAlreadyStoredError
from graph.labels import label_jobs
from graph.model import WriteStats, run_id
from graph.store import Store
from parsers import Evidence, LineageEvent, Origin, ParseIssue, RunRef


def write(store: Store, events: Sequence[LineageEvent], cursors: Sequence[Cursor] = (),
          issues: Sequence[ParseIssue] = (), *, crawl: int | None = None) -> WriteStats:
    """Store the events whose runs are new, quarantine the issues and move the cursors, in one
    transaction, stamped with the ``crawl`` number if given; return how many events were new and
    how many known.

    Runs are not looked up first: the store checks them inside its write and refuses a batch
    holding one it has (stored by an earlier crawl, or by another writer, one not holding the
    writer lock); then those runs' events are dropped and the rest folded and written again."""
    known: set[str] = set()
    while True:
        fresh = _fresh(events, known)
        batch = batch_of(fresh)
        batch.cursors.update((cursor.path, cursor) for cursor in cursors)
        batch.issues.extend(issues)
        batch.crawl = crawl
        label_jobs(store, batch)
        try:
            store.apply(batch)
        except RunsAlreadyStoredError as error:
            if not error.run_ids - known:
                raise  # (cannot happen: the store named runs we had not asked it to write)
            known |= error.run_ids
            continue
        return WriteStats(events=len(events), written=len(fresh), already_seen=len(events) - len(fresh))


# What an event shares with the others of its template (and the one Python `is` tells apart);
# the rest, its evidence and run, is its own.
_SHAPE = ("job", "statement_kind", "inputs", "outputs", "column_edges", "job_title", "dataset_facets", "produced",
          "served", "job_facets", "confidence", "issues", "lifecycle", "indirect")
_shape_of = operator.attrgetter(*_SHAPE)
# An event packed: its shape's index, its evidence's fields, its run's (or None).
PackedEvent = tuple[int, str, str, int | None, int | None, str | None, str | None, str | None,
                    tuple[str, str | None, str | None, str | None, str, dict[str, Any]] | None]


@dataclasses.dataclass(frozen=True, slots=True)
class Packed:
    """Events as plain tuples, to cross a process boundary: pickling a million dataclasses
    costs a Python call per object each way, a tuple of strings none. The parts events of one
    template share (the very same objects) are kept once, as an event of that shape."""

    shapes: tuple[LineageEvent, ...]
    events: tuple[PackedEvent, ...]


def pack(events: Sequence[LineageEvent]) -> Packed:
    """``events`` as :class:`Packed`; :func:`unpack` gives them back, equal."""
    shapes: dict[tuple[Any, ...], int] = {}
    firsts: list[LineageEvent] = []
    packed: list[PackedEvent] = []
    for event in events:
        # (an empty {} is any {}; a list, not a generator: half the time)
        key = tuple([id(part) if part else type(part) for part in _shape_of(event)])
        index = shapes.get(key)
        if index is None:
            index = shapes[key] = len(firsts)
            firsts.append(event)
        evidence, origin, run = event.evidence, event.evidence.origin, event.run
        packed.append((index, evidence.source_type, origin.path, origin.line, origin.byte_offset, evidence.timestamp,
                       evidence.fingerprint, evidence.sql,
                       None if run is None else (run.run_id, run.started_at, run.user, run.session_id, run.status,
                                                 run.facets)))
    return Packed(shapes=tuple(firsts), events=tuple(packed))


def unpack(packed: Packed) -> list[LineageEvent]:
    """The events :func:`pack` packed."""
    found = []
    for index, source_type, path, line, offset, timestamp, fingerprint, sql, run in packed.events:
        evidence = Evidence(source_type=source_type, origin=Origin(path=path, line=line, byte_offset=offset),
                            timestamp=timestamp, fingerprint=fingerprint, sql=sql)
        ran = None if run is None else RunRef(run_id=run[0], started_at=run[1], user=run[2], session_id=run[3],
                                              status=run[4], facets=run[5])  # type: ignore[arg-type]
        found.append(dataclasses.replace(packed.shapes[index], evidence=evidence, run=ran))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """Events folded into rows ahead of writing, where the store is not at hand (a worker
    process of a parallel crawl): the rows of the events, for a store that has none of their
    runs yet, and the events themselves, packed and pickled, for a store that has some (the
    writer unpickles them only then: otherwise that would be its largest cost)."""

    batch: Batch
    events: bytes
    count: int
    fresh: int


def prepare(events: Sequence[LineageEvent]) -> Prepared:
    """Fold ``events`` for :func:`write_prepared`: the work of a write that needs no store."""
    fresh = _fresh(events, set())
    batch = batch_of(fresh)
    batch._encoded.clear()  # (a cache of the fold's, by object ids that mean nothing elsewhere)
    return Prepared(batch=batch, events=pickle.dumps(pack(events), protocol=pickle.HIGHEST_PROTOCOL),
                    count=len(events), fresh=len(fresh))


def write_prepared(store: Store, prepared: Prepared, cursors: Sequence[Cursor] = (),
                   issues: Sequence[ParseIssue] = (), *, crawl: int | None = None) -> WriteStats:
    """:func:`write` for events :func:`prepare` folded: their rows are written as they are; where
    the store has some of their runs already, it refuses them, and the events are folded again
    without those runs."""
    batch = dataclasses.replace(prepared.batch, cursors={cursor.path: cursor for cursor in cursors},
                                issues=list(issues), crawl=crawl)
    label_jobs(store, batch)
    try:
        store.apply(batch)
    except RunsAlreadyStoredError:
        return write(store, unpack(pickle.loads(prepared.events)), cursors, issues, crawl=crawl)
    return WriteStats(events=prepared.count, written=prepared.fresh, already_seen=prepared.count - prepared.fresh)


def _fresh(events: Iterable[LineageEvent], known: set[str]) -> list[LineageEvent]:
    """The events of runs not in ``known``; the same run twice counts once."""
    seen = set(known)
    fresh = []
    for event in events:
        if event.run is not None:
            rid = run_id(event.run.run_id)
            if rid in seen:
                continue
            seen.add(rid)
        fresh.append(event)
    return fresh
