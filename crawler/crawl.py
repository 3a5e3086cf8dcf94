"""One crawl: find sources, read records, parse them, write the facts, and report.

Each file is read from where the last crawl left it (its cursor), and the cursor moves in the
same transaction as the facts read up to it; writes are idempotent too (a run already stored is
skipped), so a crawl killed at any point and run again yields the same graph. Side exports that
complete other files' records (:mod:`crawler.supplements`) are read first, and their cursors
move last, once every record they completed is stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import sqlite3
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import zstandard

import graph
import parsers
from crawler import hadoop, parallel, quarantine
from crawler.cursors import READING, Start, advance, resume
from crawler.errors import CrawlerError
from crawler.registry import (
    GROWING,
    SESSION_END,
    Read,
    SourceSpec,
    discover,
    is_appended,
    is_supplement,
    predecessor,
    read,
)
from crawler.streams import is_compressed
from crawler.supplements import Supplements
from graph import Store
from graph.batch import Cursor, spool_runs
from graph.changes import crawl_summary, next_crawl
from graph.errors import RunsAlreadyStoredError
from graph.gc import DEFAULT_STALE_AFTER, collect
from graph.ingest import Prepared, prepare, write_prepared
from graph.model import Node
from parsers import DatasetRef, LineageEvent, Origin, ParseIssue, SourceRecord, catalog
from parsers.catalog import Catalog
from parsers.naming import is_table_namespace
from parsers.sessions import Session

ISSUE_SAMPLE = 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrawlReport:
    """What a crawl did: counters, timings, a capped sample of what went wrong, the graph after."""

    crawl: int  # its number in the store (see graph.changes)
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
    # Files of a directory or glob whose type could not be told: how many, and the first few.
    skipped_files: int = 0
    skipped_sample: tuple[str, ...] = ()
    # Files of which nothing at all could be read (a damaged archive, a codec no library reads).
    unreadable_files: tuple[str, ...] = ()
    # Logs whose last entry was held back for a later crawl (it may still be being written).
    held_back: tuple[str, ...] = ()
    # With --retry-quarantine: quarantined records read again that now parse ("released") or not.
    retried: dict[str, int] = dataclasses.field(default_factory=dict)
    # What the crawl changed in the lineage (graph.changes.summary), kept for the crawls page.
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def issues(self) -> int:
        return sum(self.issues_by_code.values())

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["issue_sample"] = [issue.to_dict() for issue in self.issue_sample]
        return data


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """How far a crawl is: files and bytes done of the total, records read, the file at hand."""

    files_done: int
    files: int
    bytes_done: int
    bytes: int
    records: int
    seconds: float
    path: str | None = None


class _Tally:
    def __init__(self, progress: Callable[[Progress], None] | None = None) -> None:
        self._progress = progress
        self._started = time.perf_counter()
        self.sizes: dict[str, int] = {}
        self.done: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.issues: Counter[str] = Counter()
        self.sample: list[ParseIssue] = []
        self.timings: defaultdict[str, float] = defaultdict(float)
        self.cursors: dict[str, Cursor] = {}  # written by this crawl, by path
        self.unreadable: dict[str, None] = {}
        self.clocked: dict[str, None] = {}  # files whose records carry no time of their own
        self.held_back: dict[str, None] = {}
        self.crawl: int | None = None  # the crawl's number, stamped on what it writes
        # Statements that wrote nothing (failed, rolled back), by status: each by its record's key,
        # which names one execution however many logs show it, so it is counted once.
        self.unused: defaultdict[str, set[str]] = defaultdict(set)

    def issue(self, issues: Iterable[ParseIssue]) -> None:
        for issue in issues:
            self.issues[issue.code] += 1
            if len(self.sample) < ISSUE_SAMPLE:
                self.sample.append(issue)
            if issue.code in NOTHING_READ and not issue.origin.byte_offset:
                self.unreadable[issue.origin.path] = None


    def advance(self, path: Path, offset: int, *, finished: bool = False) -> None:
        """Tell the progress callback, if any, that ``path`` is read up to ``offset`` (of its
        decompressed bytes: capped at the file's size) or ``finished``."""
        if self._progress is None:
            return
        key = str(path)
        if finished:
            self.done.add(key)
        bytes_done = sum(self.sizes[done] for done in self.done)
        if not finished:
            bytes_done += min(offset, self.sizes.get(key, 0))
        self._progress(Progress(files_done=len(self.done), files=len(self.sizes), bytes_done=bytes_done,
                                bytes=sum(self.sizes.values()), records=self.counts["records"],
                                seconds=time.perf_counter() - self._started, path=key))


# Issues that say a file could not be read; at byte 0, nothing of it was.
NOTHING_READ = frozenset({"unreadable_file", "unsupported_codec"})
SKIPPED_SAMPLE = 10


# Events per write. A batch folds each template's first event whole and later ones as repeats of
# it: 20,000 events from a log of a few hundred templates fold in 40% of the time 4 x 5,000 take.
# And each write rewrites the pages of the runs' id index its runs fall in (ids are digests, so
# they fall everywhere): in a store of a million runs, 20,000 a write rewrote nearly all of it each
# time, 3.3 GB written for a crawl of a million statements; 50,000 a write, 1.8 GB (a tenth less
# time with --workers 2, 40 MB more memory a process).
BATCH_SIZE = 50_000


def crawl(specs: Sequence[SourceSpec], store: Store, *, batch_size: int = BATCH_SIZE,
          stale_after: dt.timedelta | None = DEFAULT_STALE_AFTER, wait: float = 0.0,
          progress: Callable[[Progress], None] | None = None, retry_quarantine: bool = False,
          workers: int | None = 1, engine: str = "local", spark_master: str | None = None) -> CrawlReport:
    """Crawl every source of ``specs`` into ``store``, then age out stale edges (unless
    ``stale_after`` is None) and rerank.

    The whole crawl holds the store's writer lock, from reading the cursors to saving the report:
    a crawl started meanwhile waits up to ``wait`` seconds, then raises
    :class:`graph.errors.StoreBusyError` naming this one. ``progress`` is told how far the
    crawl is after each file and each batch written. With ``retry_quarantine``, the quarantined
    records of the files crawled are read again first (see :mod:`crawler.quarantine`). With
    ``workers`` over 1, files are read and parsed in that many processes and written here, in
    order (see :mod:`crawler.parallel`): the store ends as one process leaves it. None: as many
    as the cores, where there is enough to read to make up for starting them. With ``engine``
    "spark", files are read and parsed as Spark tasks on ``spark_master`` (``local[*]`` by
    default) and written here the same way (see :mod:`crawler.spark_engine`)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown crawl engine {engine!r}: one of {', '.join(ENGINES)}")
    hadoop.check_engine(specs, engine)
    with store.writer_lock(wait), _driver(engine, spark_master), parallel.fewer_collections():
        return _crawl(specs, store, batch_size, stale_after, progress, retry_quarantine, workers,
                      _Engine(engine, spark_master))


def _crawl(specs: Sequence[SourceSpec], store: Store, batch_size: int, stale_after: dt.timedelta | None,
           progress: Callable[[Progress], None] | None, retry_quarantine: bool, workers: int | None = 1,
           engine: _Engine | None = None) -> CrawlReport:
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tally = _Tally(progress)
    tally.crawl = next_crawl(store)
    files, seen = [], set()
    skipped: list[Path] = []
    for spec in specs:
        for path, source_type in discover(spec, skipped):
            if path not in seen:  # a file two sources reach (`logs/` and `logs/*.csv`): the first one reads it
                seen.add(path)
                files.append((spec, path, source_type))
    with catalog.using(_known_columns(store)):
        retried = quarantine.retry(files, store, tally.crawl, lambda spec, record: _parse(spec, record, {}, tally)) \
            if retry_quarantine else {}
        unjoined = _crawl_files(files, store, tally, batch_size, workers, engine)
    tally.issue(quarantine.check_model_versions(store))
    garbage, notes = _collect(store, stale_after, tally)
    if unjoined:
        notes = (f"{unjoined} queries of side exports (ACCESS_HISTORY, SYS_QUERY_TEXT) were in no history this "
                 "crawl read: export both over the same window", *notes)
    if tally.clocked:
        notes = (f"{len(tally.clocked)} SQL script(s) say nothing of when they ran: their statements take the time "
                 "a crawl first read the file", *notes)
    from graph.ranking import update_ranks  # (networkx: not for the workers of a parallel crawl)

    clock = time.perf_counter()
    update_ranks(store)
    tally.timings["rank"] += time.perf_counter() - clock
    clock = time.perf_counter()
    changed = crawl_summary(store, tally.crawl)
    tally.timings["changes"] += time.perf_counter() - clock
    report = CrawlReport(
        crawl=tally.crawl,
        started_at=started_at,
        seconds=round(time.perf_counter() - started, 3),
        files=tally.counts["files"],
        records=tally.counts["records"],
        statements_failed=len(tally.unused["failed"]),
        statements_rolled_back=len(tally.unused["rolled_back"]),
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
        skipped_files=len(skipped),
        skipped_sample=tuple(str(path) for path in skipped[:SKIPPED_SAMPLE]),
        unreadable_files=tuple(tally.unreadable),
        held_back=tuple(tally.held_back),
        retried=retried,
        changes=changed,
    )
    store.save_report(report.to_dict())
    return report


# Where files are read and parsed: here (with --workers N, in N local processes) or on Spark.
ENGINES = ("local", "spark")


@contextlib.contextmanager
def _driver(engine: str, master: str | None) -> Iterator[None]:
    """With ``engine`` "spark": this process as Spark's driver for the crawl (files named by URI
    are listed and read through its Hadoop filesystems)."""
    if engine != "spark":
        yield
        return
    from crawler import spark_engine  # (pyspark only for --engine spark)

    with spark_engine.driver(master):
        yield


@dataclasses.dataclass(frozen=True, slots=True)
class _Engine:
    name: str = "local"
    spark_master: str | None = None


def _crawl_files(files: Sequence[tuple[SourceSpec, Path, str]], store: Store, tally: _Tally,
                 batch_size: int, workers: int | None = 1, engine: _Engine | None = None) -> int:
    """Crawl side exports first, then the rest (with ``workers`` processes); return how many
    queries side rows spoke of that no record of this crawl named."""
    tally.counts["files"] = len(files)
    for _, path, _ in files:
        tally.sizes[str(path)] = _size(path)
    known = store.cursors()
    seeded: set[str] = set()  # a cursor seeds one file of the crawl at most (see resume)
    supplements = Supplements()
    side = [_read_supplement(spec, path, source_type, supplements, known, seeded)
            for spec, path, source_type in files if is_supplement(source_type)]
    for _, path, source_type in files:
        if is_supplement(source_type):
            tally.advance(path, 0, finished=True)
    # Where each file starts, decided in crawl order before any is read: which file a cursor
    # that moved (a rotation, a rename) seeds depends on the files before it.
    plan = [(spec, path, source_type, resume(path, known, archive=is_compressed(path), seeded=seeded))
            for spec, path, source_type in files if not is_supplement(source_type)]
    units = _units(plan, known)
    if workers is None:
        unread = sum(max(0, tally.sizes[str(path)] - start.offset) for _, path, _, start in plan if not start.done)
        workers = parallel.default_workers() if unread >= parallel.AUTO_MIN_BYTES else 1
    if engine is not None and engine.name == "spark":
        if units:
            _crawl_in_parallel(units, store, tally, batch_size, 0, supplements, spark_master=engine.spark_master)
    elif workers > 1 and len(units) > 1:
        _crawl_in_parallel(units, store, tally, batch_size, workers, supplements)
    else:
        for unit in units:
            _crawl_unit_here(unit, store, tally, batch_size, supplements)
    for cursor, issues in side:
        _flush(store, [], issues, cursor, tally)
    return supplements.unused()


@dataclasses.dataclass(frozen=True, slots=True)
class _Unit:
    """Files one worker reads, in order: a file, or the parts of one rolling log (a part goes on
    with what reading the one before it left open), or the rotated files of one log. ``known``:
    earlier crawls' cursors of the parts these files go on from."""

    files: tuple[tuple[SourceSpec, Path, str, Start], ...]
    known: Mapping[str, Cursor]


@dataclasses.dataclass(frozen=True, slots=True)
class _Shared:
    """What every worker of a crawl is given once."""

    batch_size: int
    supplements: Supplements
    # Where the workers spool each batch's runs for the writer, on this machine (see
    # graph.batch.spool_runs); None: they cross with the rest of the batch (Spark's executors).
    runs_dir: str | None = None


def _units(plan: Sequence[tuple[SourceSpec, Path, str, Start]], known: Mapping[str, Cursor]) -> list[_Unit]:
    """The files of ``plan`` as units of work, in crawl order: a file joins the unit of the file
    it goes on from, or of an earlier rotation of its log."""
    groups: dict[str, list[tuple[SourceSpec, Path, str, Start]]] = {}
    unit_of: dict[str, str] = {}
    for item in plan:
        _, path, source_type, _ = item
        before = predecessor(source_type, path)
        key = unit_of.get(str(before)) if before is not None else None
        key = key or unit_of.get(_rotation_stem(path)) or str(path)
        groups.setdefault(key, []).append(item)
        unit_of[str(path)] = unit_of[_rotation_stem(path)] = key
    units = []
    for items in groups.values():
        befores = (predecessor(source_type, path) for _, path, source_type, _ in items)
        units.append(_Unit(files=tuple(items),
                           known={str(b): known[str(b)] for b in befores if b is not None and str(b) in known}))
    return units


# logrotate's names for the earlier files of one log: app.log.1, app.log.2.gz, app.log-20261125.
_ROTATED = re.compile(r"(?:[.-](?:\d{1,3}|\d{8}))?(?:\.(?:gz|bz2|xz|zst|zstd|lz4))?$")


def _rotation_stem(path: Path) -> str:
    """The log a file is a rotation of: its path without logrotate's number and compression."""
    return "rotation:" + _ROTATED.sub("", str(path), count=1)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _collect(store: Store, stale_after: dt.timedelta | None, tally: _Tally) -> tuple[dict[str, dict[str, int]],
                                                                                   tuple[str, ...]]:
    if stale_after is None:
        return {}, ()
    clock = time.perf_counter()
    collected = collect(store, dt.datetime.now(dt.UTC), stale_after=stale_after, crawl=tally.crawl)
    tally.timings["gc"] += time.perf_counter() - clock
    garbage = {"marked_stale": collected.marked, "removed_edges": collected.removed_edges,
               "removed_nodes": collected.removed_nodes, "held_back": collected.held_back}
    return {k: v for k, v in garbage.items() if v}, tuple(collected.messages())


def _read_supplement(spec: SourceSpec, path: Path, source_type: str, supplements: Supplements,
                     known: Mapping[str, Cursor], seeded: set[str]) -> tuple[Cursor | None, list[ParseIssue]]:
    """Take in a side export's new rows; return its cursor and issues, to store after the records
    they complete (a crawl killed before then reads the rows again)."""
    start = resume(path, known, archive=is_compressed(path), seeded=seeded)
    if start.done:
        return _done(path, start), []
    issues = [start.issue] if start.issue is not None else []
    position: tuple[int, int] | None = None
    try:
        for read_item in read(spec, path, source_type, start):
            position = (read_item.offset, read_item.line)
            if isinstance(read_item.item, ParseIssue):
                issues.append(read_item.item)
            elif read_item.item is not None:
                supplements.add(read_item.item)
    except UNREADABLE as error:  # read again next time, all of it: the rest may be readable by then
        issues.append(_unreadable(path, error, *(position or (start.offset, start.line))))
        position = None
    return (advance(path, *position) if position else None), issues


def _done(path: Path, start: Start) -> Cursor | None:
    """The cursor of a plain file found to be a copy of one read elsewhere: at its end."""
    return None if is_compressed(path) or not start.offset else advance(path, start.offset, start.line)


Emit = Callable[[list[LineageEvent], list[ParseIssue], Cursor | None], None]


def _crawl_unit_here(unit: _Unit, store: Store, tally: _Tally, batch_size: int, supplements: Supplements) -> None:
    """Read and parse a unit's files in this process, writing each batch as it fills."""
    for spec, path, source_type, start in unit.files:
        _crawl_file(spec, path, source_type, start, tally, batch_size, unit.known, supplements,
                    lambda events, issues, cursor: _flush(store, events, issues, cursor, tally))
        tally.advance(path, 0, finished=True)


def _crawl_unit(unit: _Unit, shared: _Shared, emit: parallel.Emit) -> dict[str, Any]:
    """Read and parse a unit's files in a worker, handing each batch (as :class:`_Folded`) to
    ``emit``; return what the writer adds to the crawl's report."""
    tally = _Tally()
    used = shared.supplements.used()
    for spec, path, source_type, start in unit.files:
        begun = _continued(source_type, path, start, unit.known, tally)
        taken = _Spooling(spec, path, source_type, begun, emit, tally, shared.runs_dir)
        _crawl_file(spec, path, source_type, begun, tally, shared.batch_size, unit.known, shared.supplements, taken)
    return {"counts": dict(tally.counts), "timings": dict(tally.timings), "held_back": list(tally.held_back),
            "unused": {status: sorted(keys) for status, keys in tally.unused.items()},
            "used": sorted(shared.supplements.used() - used)}


@dataclasses.dataclass(frozen=True, slots=True)
class _Folded:
    """A batch a worker read and folded, and where its reading began: the file, the start (the
    cursor before it), and how many entries the unit's catalog journal held then (``mark``), so
    that the writer can read it again (see :func:`_read_again`)."""

    prepared: Prepared
    spec: SourceSpec
    path: Path
    source_type: str
    since: Start
    mark: int


class _Spooling:
    """Hands a worker's batches of one file on, folded, each with where its reading began."""

    def __init__(self, spec: SourceSpec, path: Path, source_type: str, start: Start, emit: parallel.Emit,
                 tally: _Tally, runs_dir: str | None) -> None:
        self.spec, self.path, self.source_type, self.emit, self.tally = spec, path, source_type, emit, tally
        self.since, self.mark, self.runs_dir = start, _journaled(), runs_dir

    def __call__(self, events: list[LineageEvent], issues: list[ParseIssue], cursor: Cursor | None) -> None:
        # Folded here: the writer, the one process that cannot be doubled, only writes the rows.
        folded: _Folded | list[LineageEvent] = []
        if events:
            folded = _Folded(prepare(events), self.spec, self.path, self.source_type, self.since, self.mark)
            if self.runs_dir is not None and folded.prepared.batch.runs:
                spool_runs(folded.prepared.batch, os.path.join(self.runs_dir, f"{uuid.uuid4().hex}.db"))
        self.emit(folded, list(issues), cursor)
        events.clear()
        issues.clear()
        if cursor is not None:
            self.tally.cursors[cursor.path] = cursor  # for the next part of a rolling log
            self.since, self.mark = _start_at(cursor), _journaled()


def _journaled() -> int:
    """How many lookups and changes the catalog in use has journaled so far."""
    current = catalog.current()
    return len(current.journal) if current is not None and current.journal is not None else 0


def _start_at(cursor: Cursor) -> Start:
    """Where reading goes on from a cursor of this crawl's."""
    return Start(offset=cursor.offset, line=cursor.line, state=json.loads(cursor.state))


class _Enough(Exception):  # noqa: N818  (not an error: the one batch wanted is read)
    def __init__(self, events: list[LineageEvent], cursor: Cursor | None) -> None:
        super().__init__()
        self.events, self.cursor = events, cursor


def _read_again(folded: _Folded, cursor: Cursor | None, at: Catalog, batch_size: int,
                supplements: Supplements) -> list[LineageEvent]:
    """The events of a batch a worker read, read and parsed again here, from where it began and
    against the catalog as it was there (``at``): reading stops where the worker's batch did
    (``cursor``), as parsing is the same given the same start, catalog and batch size."""
    def first(events: list[LineageEvent], issues: list[ParseIssue], end: Cursor | None) -> None:
        raise _Enough(list(events), end)

    try:
        with catalog.using(at):
            _crawl_file(folded.spec, folded.path, folded.source_type, folded.since, _Tally(), batch_size, {},
                        supplements, first)
    except _Enough as enough:
        if (enough.cursor and (enough.cursor.offset, enough.cursor.line)) == (cursor and (cursor.offset, cursor.line)):
            return enough.events
    raise CrawlerError(f"{folded.path} changed while it was crawled (read again, it no longer ends a batch where "
                       "it did): crawl again")


def _crawl_in_parallel(units: Sequence[_Unit], store: Store, tally: _Tally, batch_size: int, workers: int,
                       supplements: Supplements, *, spark_master: str | None = None) -> None:
    """Read and parse ``units`` in ``workers`` processes, or (``workers`` 0) as Spark tasks on
    ``spark_master``; write them here in order."""
    def take(summary: dict[str, Any]) -> None:
        tally.counts.update(summary["counts"])
        for status, keys in summary["unused"].items():
            tally.unused[status].update(keys)
        for name, seconds in summary["timings"].items():
            tally.timings[name] += seconds
        tally.held_back.update(dict.fromkeys(summary["held_back"]))
        supplements.note_used(summary["used"])

    def finished(unit: _Unit) -> None:
        for _, path, _, _ in unit.files:
            tally.advance(path, 0, finished=True)

    def again(unit: _Unit) -> None:
        clock = time.perf_counter()
        _crawl_unit_here(unit, store, tally, batch_size, supplements)
        # (the time of files parsed again here, as an earlier file created tables they read)
        tally.timings["read_parse_again"] += time.perf_counter() - clock

    def write(folded: _Folded | list[LineageEvent], issues: list[ParseIssue], cursor: Cursor | None,
              at: Callable[[int], Catalog]) -> None:
        if not isinstance(folded, _Folded):
            _flush(store, folded, issues, cursor, tally)
            return
        try:
            _flush(store, folded.prepared, issues, cursor, tally)
        except RunsAlreadyStoredError:
            # Some of its runs are stored (by an earlier crawl, or from another file of this one):
            # the events are read again here, and those of the runs not stored written.
            clock = time.perf_counter()
            events = _read_again(folded, cursor, at(folded.mark), batch_size, supplements)
            tally.timings["read_parse_again"] += time.perf_counter() - clock
            _flush(store, events, issues, cursor, tally)
        finally:
            if folded.prepared.batch.runs_file is not None:
                os.unlink(folded.prepared.batch.runs_file)

    if workers:
        with tempfile.TemporaryDirectory(prefix="lineage-runs-") as runs_dir:
            shared = _Shared(batch_size=batch_size, supplements=supplements, runs_dir=runs_dir)
            parallel.run(units, _crawl_unit, shared, workers=workers, write=write, take=take, again=again,
                         finished=finished)
    else:
        from crawler import spark_engine  # (pyspark only for --engine spark)

        shared = _Shared(batch_size=batch_size, supplements=supplements)
        spark_engine.run(units, _crawl_unit, shared, master=spark_master, write=write, take=take, again=again,
                         finished=finished, fetch=_remote_files)


def _remote_files(unit: _Unit) -> list[str]:
    """The files of a unit named by URI (on a Hadoop filesystem), which Spark reads for its task."""
    return [str(path) for _, path, _, _ in unit.files if hadoop.is_remote(path)]


def _crawl_file(spec: SourceSpec, path: Path, source_type: str, start: Start, tally: _Tally, batch_size: int,
                known: Mapping[str, Cursor], supplements: Supplements, emit: Emit) -> None:
    """Read a file from its cursor on, going on with what the last crawl had open there; hand
    out (to ``emit``, which writes them) batches, each with the cursor (and what is open) where a
    later crawl may resume."""
    start = _continued(source_type, path, start, known, tally)
    if start.done:
        cursor = _done(path, start)
        if cursor is not None:
            emit([], [], cursor)
        return
    events: list[LineageEvent] = []
    issues = [start.issue] if start.issue is not None and is_appended(source_type) else []
    sessions = {sid: Session.from_state(state) for sid, state in start.state.get("sessions", {}).items()}
    clock = time.perf_counter()
    resumable: Read | None = None
    ended = False
    try:
        for read_item in read(spec, path, source_type, dataclasses.replace(start, state=start.state.get("reader", {}))):
            _take(spec, read_item.item, sessions, supplements, tally, events, issues)
            if read_item.state is None:
                continue  # among what one log entry released: no crawl could resume here
            resumable = read_item
            if len(events) >= batch_size:
                tally.timings["read_parse"] += time.perf_counter() - clock
                emit(events, issues, _cursor(path, resumable, sessions, ended=False))
                tally.advance(path, resumable.offset)
                clock = time.perf_counter()
        ended = True
    except UNREADABLE as error:
        # What was read before stays, and a later crawl reads on from there: the rest may be
        # readable by then (an archive still being copied), or it is reported again (as the same
        # issue, which the quarantine holds once).
        where = (resumable.offset, resumable.line) if resumable is not None else (start.offset, start.line)
        issues.append(_unreadable(path, error, *where))
    tally.timings["read_parse"] += time.perf_counter() - clock
    if resumable is not None or issues:
        cursor = _cursor(path, resumable, sessions, ended=ended) if resumable else None
        emit(events, issues, cursor)
    if ended and not is_compressed(path) and (resumable.offset if resumable else start.offset) < path.stat().st_size:
        tally.held_back[str(path)] = None  # a last entry that may still be being written: read next time


def _continued(source_type: str, path: Path, start: Start, known: Mapping[str, Cursor], tally: _Tally) -> Start:
    """A later part of a rolling log read from its start goes on with what reading the part
    before it left open (this crawl's cursor of that part, or an earlier crawl's)."""
    if start.offset or start.state or start.done:
        return start
    before = predecessor(source_type, path)
    cursor = tally.cursors.get(str(before)) or known.get(str(before)) if before is not None else None
    if cursor is None:
        return start
    reader = json.loads(cursor.state).get("reader", {})
    return dataclasses.replace(start, state={"reader": reader}) if reader else start


# A file that stops being readable part way: a damaged or cut archive, a disk error.
UNREADABLE = (OSError, EOFError, zstandard.ZstdError)


def _unreadable(path: Path, error: BaseException, offset: int, line: int) -> ParseIssue:
    reason = str(error) or type(error).__name__
    return ParseIssue(code="unreadable_file", origin=Origin(path=str(path), line=line, byte_offset=offset),
                      message=f"{path.name}: cannot read on after byte {offset} (line {line}): {reason}; "
                              "the rest of the file is skipped")


def _known_columns(store: Store) -> catalog.Catalog:
    """The columns of the tables earlier crawls saw created, for ``SELECT *`` and bare columns,
    and where tables live (a Spark job that writes a table's directory by path writes the
    table); this crawl's CREATE statements and Spark plans add to them as they are read."""
    known = catalog.Catalog()
    for node in store.nodes(kind="dataset"):
        columns = node.props.get("schema")
        if isinstance(columns, dict) and columns and node.namespace:
            known.add(DatasetRef(namespace=node.namespace, name=node.name), list(columns))
        location = node.props.get("location")
        if isinstance(location, str) and node.namespace:
            known.add_location(location, DatasetRef(namespace=node.namespace, name=node.name))
        if node.namespace and is_table_namespace(node.namespace) and not _gone(node):
            known.see(DatasetRef(namespace=node.namespace, name=node.name))  # a search path finds it
    return known


def _gone(node: Node) -> bool:
    """Whether the last the logs showed of a table was its drop or its rename."""
    return any(node.props.get(f"last_{event}") == node.last_seen and node.last_seen
               for event in ("drop", "rename"))


def _take(spec: SourceSpec, item: SourceRecord | ParseIssue | None, sessions: dict[str, Session],
          supplements: Supplements, tally: _Tally, events: list[LineageEvent], issues: list[ParseIssue]) -> None:
    """Take in one item read: an issue, a session's end, or a statement to complete and parse."""
    if item is None:
        return
    if isinstance(item, ParseIssue):
        issues.append(item)
        return
    if SESSION_END in item.attributes:
        sessions.pop(item.session_id or "", None)
        return
    tally.counts["records"] += 1
    if "clock" in item.attributes:
        tally.clocked[item.origin.path] = None
    record, joined = supplements.complete(item)
    found, problems = _parse(spec, record, sessions, tally)
    events.extend(found)
    if joined or problems:
        issues.extend([*joined, *problems])


def _cursor(path: Path, after: Read, sessions: Mapping[str, Session], *, ended: bool) -> Cursor:
    """The cursor right after ``after``, carrying what the reader and the sessions have open; an
    archive's says whether it was read to its end (then it is done) or not yet."""
    reader = after.state() if after.state is not None else {}
    opened = {sid: state for sid, session in sorted(sessions.items()) if (state := session.to_state())}
    carried: dict[str, Any] = {key: value for key, value in (("reader", reader), ("sessions", opened)) if value}
    if (not ended or reader.get(GROWING)) and is_compressed(path):
        carried[READING] = True  # read on from here next time: the rest is not read, or not written yet
    return advance(path, after.offset, after.line, carried)


def _parse(spec: SourceSpec, record: SourceRecord, sessions: dict[str, Session],
           tally: _Tally) -> tuple[list[LineageEvent], tuple[ParseIssue, ...]]:
    """A record's events, after its session's state and the spec's noise filters."""
    status = record.attributes.get("status", "completed")
    if status != "completed":
        tally.unused[status].add(record.key())  # it wrote nothing: no lineage, but counted
        return [], ()
    filters = spec.include or spec.exclude
    if filters and not all(spec.wants(field, getattr(record, attr)) for field, attr in _RECORD_FILTERS):
        tally.counts["filtered"] += 1
        return [], ()
    session = sessions.get(record.session_id) if record.session_id else None
    if session is None and record.session_id:  # (not setdefault: a Session made for every statement)
        session = sessions[record.session_id] = Session()
    result = parsers.parse(session.prepare(record) if session else record)
    events = session.observe(result) if session else list(result.events)
    if not filters:
        return events, result.issues
    kept = [event for event in events if spec.wants("kind", event.statement_kind)]
    tally.counts["filtered"] += len(events) - len(kept)
    return kept, result.issues


_RECORD_FILTERS = (("user", "user"), ("database", "database"), ("application", "application"))


# A write the store refused for a passing reason (a Neo4j server restarting, a SQLite file locked
# past its busy timeout) is tried again after 1, 2, 4, 8 and 16 s; then the crawl stops, its
# cursors where the last written batch left them (each moves in its batch's transaction), and the
# next crawl goes on from there.
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
T = TypeVar("T")


def _retried(write: Callable[[], T], delays: Sequence[float] | None = None) -> T:
    for delay in (*(RETRY_DELAYS if delays is None else delays), None):
        try:
            return write()
        except Exception as error:
            if delay is None or not _transient(error):
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")


def _transient(error: BaseException) -> bool:
    """A failure worth waiting out: the Neo4j driver's own word for it, or SQLite busy or locked.
    A commit whose answer was lost (IncompleteCommit) too: the batch tried again finds it written,
    if it was, by its token (see graph.ingest.token)."""
    if isinstance(error, sqlite3.OperationalError):
        return any(word in str(error) for word in ("locked", "busy"))
    module = type(error).__module__
    if module.startswith("neo4j"):
        return bool(getattr(error, "is_retryable", lambda: False)()) or type(error).__name__ in (
            "ServiceUnavailable", "SessionExpired", "TransientError", "IncompleteCommit")
    return False


def _flush(store: Store, events: list[LineageEvent] | Prepared, issues: list[ParseIssue], cursor: Cursor | None,
           tally: _Tally) -> None:
    """Write events (or events a worker folded already) with their issues and cursor."""
    clock = time.perf_counter()
    cursors = [cursor] if cursor else []
    crawl, token = tally.crawl, uuid.uuid4().hex  # (one token for every try of this write)
    stats = _retried(lambda: write_prepared(store, events, cursors, issues, crawl=crawl, token=token)
                     if isinstance(events, Prepared)
                     else graph.write(store, events, cursors, issues, crawl=crawl, token=token))
    tally.timings["write"] += time.perf_counter() - clock
    tally.counts.update(events=stats.events, written=stats.written, already_seen=stats.already_seen)
    if cursor is not None:
        tally.cursors[cursor.path] = cursor
    tally.issue(issues)
    if isinstance(events, list):
        events.clear()
    issues.clear()
