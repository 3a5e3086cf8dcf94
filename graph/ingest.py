"""Writing lineage events into any store, idempotently: a run already stored is skipped, so a
crawl killed at any point and run again leaves the same graph."""

from __future__ import annotations

from collections.abc import Sequence

from graph.batch import Cursor, batch_of
from graph.model import WriteStats, run_id
from graph.store import Store
from parsers import LineageEvent, ParseIssue


def write(store: Store, events: Sequence[LineageEvent], cursors: Sequence[Cursor] = (),
          issues: Sequence[ParseIssue] = ()) -> WriteStats:
    """Store the events whose runs are new, quarantine the issues and move the cursors, in one
    transaction; return how many events were new and how many known."""
    ids = [run_id(e.run.run_id) for e in events if e.run is not None]
    known = store.known_runs(ids) if ids else set()
    fresh = []
    for event in events:
        if event.run is not None:
            rid = run_id(event.run.run_id)
            if rid in known:
                continue
            known.add(rid)  # the same run twice in one batch counts once
        fresh.append(event)
    batch = batch_of(fresh)
    batch.cursors.update((cursor.path, cursor) for cursor in cursors)
    batch.issues.extend(issues)
    store.apply(batch)
    return WriteStats(events=len(events), written=len(fresh), already_seen=len(events) - len(fresh))
