"""Writing lineage events into any store, idempotently: a run already stored is skipped, so a
crawl killed at any point and run again leaves the same graph."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence

from graph.batch import Batch, Cursor, batch_of
from graph.errors import RunsAlreadyStoredError
from graph.labels import label_jobs
from graph.model import WriteStats, run_id
from graph.store import Store
from parsers import LineageEvent, ParseIssue


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


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """Events folded into rows ahead of writing, where the store is not at hand (a worker
    process of a parallel crawl), for a store that has none of their runs yet: how many events
    there were (``count``), and how many of them of runs not repeated in the batch (``fresh``).
    Of those, the ones that add no run to the batch (no run, or no rows of a run: a DROP) are
    folded apart too (``runless``, and how many: ``runless_count``): all there is to write where
    the store has every run of the batch. The events themselves stay behind: sending them too
    would cost the worker a quarter of what folding them does, for the rare store that has some
    of their runs (see write_prepared)."""

    batch: Batch
    count: int
    fresh: int
    runless: Batch
    runless_count: int


def prepare(events: Sequence[LineageEvent]) -> Prepared:
    """Fold ``events`` for :func:`write_prepared`: the work of a write that needs no store."""
    fresh = _fresh(events, set())
    batch = batch_of(fresh)
    runless = [event for event in fresh if event.run is None]
    if len(fresh) - len(runless) != len(batch.runs):  # (some events of a run add no row of it)
        runless = [event for event in fresh if event.run is None or run_id(event.run.run_id) not in batch.runs]
    rest = batch_of(runless)
    for folded in (batch, rest):
        folded._encoded.clear()  # (a cache of the fold's, by object ids that mean nothing elsewhere)
    return Prepared(batch=batch, count=len(events), fresh=len(fresh), runless=rest, runless_count=len(runless))


def write_prepared(store: Store, prepared: Prepared, cursors: Sequence[Cursor] = (),
                   issues: Sequence[ParseIssue] = (), *, crawl: int | None = None,
                   token: str | None = None) -> WriteStats:
    """:func:`write` for events :func:`prepare` folded: their rows are written as they are.
    Where the store has every one of their runs (another log of the same server, read before),
    only the rest is (the events that add no run), with the cursors and issues. Where it has
    some, it refuses them, and so does this (raising :class:`RunsAlreadyStoredError`, the store
    left as it was): the events are to be written with :func:`write`, which drops those runs'
    events and folds the rest again."""
    batch = dataclasses.replace(prepared.batch, cursors={cursor.path: cursor for cursor in cursors},
                                issues=list(issues), crawl=crawl, token=token or uuid.uuid4().hex)
    label_jobs(store, batch)
    written = prepared.fresh
    try:
        store.apply(batch)
    except RunsAlreadyStoredError as error:
        if error.committed:
            pass
        elif error.run_ids == batch.run_ids():
            # (what write folds then: the events of the runs not stored, which add no run)
            rest = dataclasses.replace(prepared.runless, cursors=batch.cursors, issues=batch.issues, crawl=crawl,
                                       token=batch.token)
            label_jobs(store, rest)
            store.apply(rest)
            written = prepared.runless_count
        else:
            raise
    return WriteStats(events=prepared.count, written=written, already_seen=prepared.count - written)


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
