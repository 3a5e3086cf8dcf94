"""One crawl: find sources, read records, parse them, write the facts, and report.

Each file is read from where the last crawl left it (its cursor), and the cursor moves in the
same transaction as the facts read up to it; writes are idempotent too (a run already stored is
skipped), so a crawl killed at any point and run again yields the same graph.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import graph
import parsers
from crawler.cursors import advance, resume
from crawler.registry import SourceSpec, discover, is_appended, read
from crawler.streams import is_compressed
from graph import Store
from graph.batch import Cursor
from graph.gc import DEFAULT_STALE_AFTER, collect
from graph.ranking import update_ranks
from parsers import LineageEvent, ParseIssue, SourceRecord
from parsers.sessions import Session

ISSUE_SAMPLE = 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrawlReport:
    """What a crawl did: counters, timings, a capped sample of what went wrong, the graph after."""

    started_at: str
    seconds: float
    files: int
    records: int
    statements_failed: int
    statements_rolled_back: int
    filtered: int
    events: int
    written: int
    already_seen: int
    issues_by_code: dict[str, int]
    issue_sample: tuple[ParseIssue, ...]
    timings: dict[str, float]
    graph: dict[str, int]
    garbage: dict[str, dict[str, int]]
    notes: tuple[str, ...] = ()

    @property
    def issues(self) -> int:
        return sum(self.issues_by_code.values())

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["issue_sample"] = [issue.to_dict() for issue in self.issue_sample]
        return data


class _Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.issues: Counter[str] = Counter()
        self.sample: list[ParseIssue] = []
        self.timings: defaultdict[str, float] = defaultdict(float)

    def issue(self, issues: Iterable[ParseIssue]) -> None:
        for issue in issues:
            self.issues[issue.code] += 1
            if len(self.sample) < ISSUE_SAMPLE:
                self.sample.append(issue)


def crawl(specs: Sequence[SourceSpec], store: Store, *, batch_size: int = 5000,
          stale_after: dt.timedelta | None = DEFAULT_STALE_AFTER) -> CrawlReport:
    """Crawl every source of ``specs`` into ``store``, then age out stale edges (unless
    ``stale_after`` is None) and rerank."""
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tally = _Tally()
    files = [(spec, path, source_type) for spec in specs for path, source_type in discover(spec)]
    known = store.cursors()
    for spec, path, source_type in files:
        tally.counts["files"] += 1
        _crawl_file(spec, path, source_type, store, tally, batch_size, known)
    garbage, notes = _collect(store, stale_after, tally)
    clock = time.perf_counter()
    update_ranks(store)
    tally.timings["rank"] += time.perf_counter() - clock
    report = CrawlReport(
        started_at=started_at,
        seconds=round(time.perf_counter() - started, 3),
        files=tally.counts["files"],
        records=tally.counts["records"],
        statements_failed=tally.counts["statements_failed"],
        statements_rolled_back=tally.counts["statements_rolled_back"],
        filtered=tally.counts["filtered"],
        events=tally.counts["events"],
        written=tally.counts["written"],
        already_seen=tally.counts["already_seen"],
        issues_by_code=dict(sorted(tally.issues.items())),
        issue_sample=tuple(tally.sample),
        timings={name: round(seconds, 3) for name, seconds in sorted(tally.timings.items())},
        graph=store.counts(),
        garbage=garbage,
        notes=notes,
    )
    store.save_report(report.to_dict())
    return report


def _collect(store: Store, stale_after: dt.timedelta | None, tally: _Tally) -> tuple[dict[str, dict[str, int]],
                                                                                   tuple[str, ...]]:
    if stale_after is None:
        return {}, ()
    clock = time.perf_counter()
    collected = collect(store, dt.datetime.now(dt.UTC), stale_after=stale_after)
    tally.timings["gc"] += time.perf_counter() - clock
    garbage = {"marked_stale": collected.marked, "removed_edges": collected.removed_edges,
               "removed_nodes": collected.removed_nodes, "held_back": collected.held_back}
    return {k: v for k, v in garbage.items() if v}, tuple(collected.messages())


def _crawl_file(spec: SourceSpec, path: Path, source_type: str, store: Store, tally: _Tally, batch_size: int,
                known: Mapping[str, Cursor]) -> None:
    start = resume(path, known, archive=is_compressed(path))
    if start.done:
        return
    events: list[LineageEvent] = []
    issues: list[ParseIssue] = []
    if start.issue is not None and is_appended(source_type):
        issues.append(start.issue)
    clock = time.perf_counter()
    position: tuple[int, int] | None = None
    sessions: dict[str, Session] = {}
    for read_item in read(spec, path, source_type, start):
        position = (read_item.offset, read_item.line)
        item = read_item.item
        if isinstance(item, ParseIssue):
            issues.append(item)
            continue
        tally.counts["records"] += 1
        found, problems = _parse(spec, item, sessions, tally)
        events.extend(found)
        issues.extend(problems)
        if len(events) >= batch_size:
            tally.timings["read_parse"] += time.perf_counter() - clock
            _flush(store, events, issues, advance(path, *position), tally)
            clock = time.perf_counter()
    tally.timings["read_parse"] += time.perf_counter() - clock
    if position is not None or issues:
        _flush(store, events, issues, advance(path, *position) if position else None, tally)


def _parse(spec: SourceSpec, record: SourceRecord, sessions: dict[str, Session],
           tally: _Tally) -> tuple[list[LineageEvent], tuple[ParseIssue, ...]]:
    """A record's events, after its session's state and the spec's noise filters."""
    status = record.attributes.get("status", "completed")
    if status != "completed":
        tally.counts[f"statements_{status}"] += 1  # it wrote nothing: no lineage, but counted
        return [], ()
    if not all(spec.wants(field, getattr(record, attr)) for field, attr in _RECORD_FILTERS):
        tally.counts["filtered"] += 1
        return [], ()
    session = sessions.setdefault(record.session_id, Session()) if record.session_id else None
    result = parsers.parse(session.prepare(record) if session else record)
    events = session.observe(result) if session else list(result.events)
    kept = [event for event in events if spec.wants("kind", event.statement_kind)]
    tally.counts["filtered"] += len(events) - len(kept)
    return kept, (*result.issues, *_disagreements(record, result.events))


def _disagreements(record: SourceRecord, events: Sequence[LineageEvent]) -> list[ParseIssue]:
    """Where the source says what a statement read and wrote (BigQuery's referenced_tables and
    destination_table), a parse that found otherwise is reported: one of them is wrong."""
    found = []
    for claim, side in (("claimed_inputs", "inputs"), ("claimed_outputs", "outputs")):
        if claim not in record.attributes:
            continue
        claimed = {name for name in record.attributes[claim].split(",") if name}
        parsed = {ref.name.lower() for event in events for ref in getattr(event, side)}
        if claimed != parsed:
            found.append(ParseIssue(
                code="source_disagrees", severity="warning", origin=record.origin,
                message=f"the log says the statement's {side} are {sorted(claimed)}, the parse found {sorted(parsed)}"))
    return found


_RECORD_FILTERS = (("user", "user"), ("database", "database"), ("application", "application"))


def _flush(store: Store, events: list[LineageEvent], issues: list[ParseIssue], cursor: Cursor | None,
           tally: _Tally) -> None:
    clock = time.perf_counter()
    stats = graph.write(store, events, [cursor] if cursor else [])
    store.add_issues(issues)
    tally.timings["write"] += time.perf_counter() - clock
    tally.counts.update(events=stats.events, written=stats.written, already_seen=stats.already_seen)
    tally.issue(issues)
    events.clear()
    issues.clear()
