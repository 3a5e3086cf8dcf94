"""Writing lineage events into any store, idempotently: a run already stored is skipped, so a
crawl killed at any point and run again leaves the same graph."""

from __future__ import annotations

import dataclasses
import operator
import pickle
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from graph.batch import Batch, Cursor, batch_of
from graph.errors import RunsAlreadyStoredError
from graph.labels import label_jobs
from graph.model import WriteStats, run_id
from graph.store import Store
from parsers import Evidence, LineageEvent, Origin, ParseIssue, RunRef


def write(store: Store, events: Sequence[LineageEvent], cursors: Sequence[Cursor] = (),
          issues: Sequence[ParseIssue] = (), *, crawl: int | None = None, token: str | None = None) -> WriteStats:
    """Store the events whose runs are new, quarantine the issues and move the cursors, in one
    transaction, stamped with the ``crawl`` number if given; return how many events were new and
    how many known.

    Runs are not looked up first: the store checks them inside its write and refuses a batch
    holding one it has (stored by an earlier crawl, or by another writer, one not holding the
    writer lock); then those runs' events are dropped and the rest folded and written again.
    ``token`` names this write in every try of it (a new one if not given): where the store finds
    the batch written whole by an earlier try (a commit whose answer was lost), its events count
    as written."""
    token = token or uuid.uuid4().hex
    known: set[str] = set()
    while True:
        fresh = _fresh(events, known)
        batch = batch_of(fresh)
        batch.cursors.update((cursor.path, cursor) for cursor in cursors)
        batch.issues.extend(issues)
        batch.crawl = crawl
        batch.token = token
        label_jobs(store, batch)
        try:
            store.apply(batch)
        except RunsAlreadyStoredError as error:
            if error.committed:
                break
            if not error.run_ids - known:
                raise  # (cannot happen: the store named runs we had not asked it to write)
            known |= error.run_ids
            continue
        break
    return WriteStats(events=len(events), written=len(fresh), already_seen=len(events) - len(fresh))


# What an event shares with the others of its template (and the one Python `is` tells apart);
# the rest, its evidence and run, is its own.
_SHAPE = ("job", "statement_kind", "inputs", "outputs", "column_edges", "job_title", "dataset_facets", "produced",
          "served", "job_facets", "confidence", "issues", "lifecycle", "indirect")
_shape_of = operator.attrgetter(*_SHAPE)


@dataclasses.dataclass(frozen=True, slots=True)
class Packed:
    """Events as columns of plain values, to cross a process boundary: pickling a million
    dataclasses costs a Python call per object each way, a list of strings none, and columns
    pickle in about three quarters of the time a tuple per event takes. The parts events of one template
    share (the very same objects) are kept once, as an event of that shape; ``shape`` holds each
    event's, the other columns its evidence's and its run's fields (``run_id`` None: no run)."""

    shapes: tuple[LineageEvent, ...]
    shape: list[int]
    source_type: list[str]
    path: list[str]
    line: list[int | None]
    byte_offset: list[int | None]
    timestamp: list[str | None]
    fingerprint: list[str | None]
    sql: list[str | None]
    run_id: list[str | None]
    started_at: list[str | None]
    user: list[str | None]
    session_id: list[str | None]
    status: list[str | None]
    facets: list[dict[str, Any] | None]


def pack(events: Sequence[LineageEvent]) -> Packed:
    """``events`` as :class:`Packed`; :func:`unpack` gives them back, equal."""
    shapes: dict[tuple[Any, ...], int] = {}
    packed = Packed((), *([] for _ in range(len(dataclasses.fields(Packed)) - 1)))
    firsts: list[LineageEvent] = []
    add_shape, add_type, add_path = packed.shape.append, packed.source_type.append, packed.path.append
    add_line, add_offset, add_time = packed.line.append, packed.byte_offset.append, packed.timestamp.append
    add_print, add_sql, add_id = packed.fingerprint.append, packed.sql.append, packed.run_id.append
    add_start, add_user, add_session = packed.started_at.append, packed.user.append, packed.session_id.append
    add_status, add_facets = packed.status.append, packed.facets.append
    for event in events:
        # (an empty {} is any {}; a list, not a generator: half the time)
        key = tuple([id(part) if part else type(part) for part in _shape_of(event)])
        index = shapes.get(key)
        if index is None:
            index = shapes[key] = len(firsts)
            firsts.append(event)
        evidence, run = event.evidence, event.run
        origin = evidence.origin
        add_shape(index)
        add_type(evidence.source_type)
        add_path(origin.path)
        add_line(origin.line)
        add_offset(origin.byte_offset)
        add_time(evidence.timestamp)
        add_print(evidence.fingerprint)
        add_sql(evidence.sql)
        add_id(run.run_id if run else None)
        add_start(run.started_at if run else None)
        add_user(run.user if run else None)
        add_session(run.session_id if run else None)
        add_status(run.status if run else None)
        add_facets(run.facets if run else None)
    return dataclasses.replace(packed, shapes=tuple(firsts))


def unpack(packed: Packed) -> list[LineageEvent]:
    """The events :func:`pack` packed."""
    found = []
    runs = zip(packed.run_id, packed.started_at, packed.user, packed.session_id, packed.status, packed.facets,
               strict=True)
    for index, source_type, path, line, offset, timestamp, fingerprint, sql, run in zip(
            packed.shape, packed.source_type, packed.path, packed.line, packed.byte_offset, packed.timestamp,
            packed.fingerprint, packed.sql, runs, strict=True):
        evidence = Evidence(source_type=source_type, origin=Origin(path=path, line=line, byte_offset=offset),
                            timestamp=timestamp, fingerprint=fingerprint, sql=sql)
        ran = None if run[0] is None else RunRef(run_id=run[0], started_at=run[1], user=run[2], session_id=run[3],
                                                 status=run[4], facets=run[5])
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
                   issues: Sequence[ParseIssue] = (), *, crawl: int | None = None,
                   token: str | None = None) -> WriteStats:
    """:func:`write` for events :func:`prepare` folded: their rows are written as they are; where
    the store has some of their runs already, it refuses them, and the events are folded again
    without those runs."""
    batch = dataclasses.replace(prepared.batch, cursors={cursor.path: cursor for cursor in cursors},
                                issues=list(issues), crawl=crawl, token=token or uuid.uuid4().hex)
    label_jobs(store, batch)
    try:
        store.apply(batch)
    except RunsAlreadyStoredError as error:
        if error.committed:
            return WriteStats(events=prepared.count, written=prepared.fresh,
                              already_seen=prepared.count - prepared.fresh)
        return write(store, unpack(pickle.loads(prepared.events)), cursors, issues, crawl=crawl, token=batch.token)
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
