"""Writing lineage events into any store, idempotently: a run already stored is skipped, so a
crawl killed at any point and run again leaves the same graph."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterable, Sequence

from graph.batch import Batch, Cursor, batch_of
from graph.errors import RunsAlreadyStoredError
from graph.labels import label_jobs
from graph.model import WriteStats, run_id
from graph.store import Store
from parsers import LineageEvent, ParseIssue


def write(store: Store, events: Sequence[LineageEvent], cursors: Sequence[Cursor] = (),
          issues: Sequence[ParseIssue] = (), *, crawl: int | None = None) -> WriteStats:
    """Store the events whose runs are new, quarantine the issues and move the cursors, in one
    transaction, stamped with the ``crawl`` number if given; return how many events were new and
    how many known.

    Runs are looked up first, and checked again by the store inside its write (another writer,
    one not holding the writer lock, may have stored some since): then those runs' events are
    dropped and the rest folded and written again."""
    ids = [run_id(e.run.run_id) for e in events if e.run is not None]
    known = store.known_runs(ids) if ids else set()
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


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """Events folded into rows ahead of writing, where the store is not at hand (a worker
    process of a parallel crawl): the rows of the events whose runs are new to a store that
    has none of ``run_ids``, and the events themselves, pickled, for a store that has some."""

    run_ids: tuple[str, ...]
    batch: Batch
    events: bytes
    count: int
    fresh: int


def prepare(events: Sequence[LineageEvent]) -> Prepared:
    """Fold ``events`` for :func:`write_prepared`: the work of a write that needs no store."""
    fresh = _fresh(events, set())
    return Prepared(run_ids=tuple(run_id(e.run.run_id) for e in events if e.run is not None), batch=batch_of(fresh),
                    events=pickle.dumps(list(events), protocol=pickle.HIGHEST_PROTOCOL), count=len(events),
                    fresh=len(fresh))


def write_prepared(store: Store, prepared: Prepared, cursors: Sequence[Cursor] = (),
                   issues: Sequence[ParseIssue] = (), *, crawl: int | None = None) -> WriteStats:
    """:func:`write` for events :func:`prepare` folded: their rows are written as they are where
    the store has none of their runs yet, else the events are folded again without those runs."""
    if prepared.run_ids and store.known_runs(list(prepared.run_ids)):
        return write(store, pickle.loads(prepared.events), cursors, issues, crawl=crawl)
    batch = dataclasses.replace(prepared.batch, cursors={cursor.path: cursor for cursor in cursors},
                                issues=list(issues), crawl=crawl)
    label_jobs(store, batch)
    try:
        store.apply(batch)
    except RunsAlreadyStoredError:  # (another writer, not holding the lock, stored some meanwhile)
        return write(store, pickle.loads(prepared.events), cursors, issues, crawl=crawl)
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
