"""Reading and parsing in worker processes, writing in this one, in crawl order.

A crawl's files are split into units (a file, or the files one log was rotated or rolled into,
which go on from each other); each unit is read and parsed whole by one worker process, which
spools its batches to a scratch file, and this process writes them in the order of the units,
each batch in one transaction with its cursor, as one process would. What a worker sends back
is only what writing needs: the spool, the counters for the report, and the catalog's journal.

The catalog is the one thing files share while they are parsed: a CREATE in one file gives
later files the columns of ``SELECT *`` and of an INSERT without a column list. A worker
parses against the catalog at hand when it was given the unit (the store's, plus what the units
written by then created), journaling every lookup with its answer; before a unit is written,
its journal is replayed on the catalog it meets in crawl order. Where every lookup is answered
the same, the parse is the one a single process makes; where one is not (an earlier unit,
still being parsed then, created a table this one reads), the unit is parsed again here,
against that catalog. Where no unit being parsed when it was given out changed the catalog,
the two are the same: its batches are written as the worker spools them, the unit's turn
come, rather than once it is done (so the last units' writes do not all wait for the end).
Each worker keeps its own template cache: results are keyed by the catalog's version, which no
two catalogs share, so no parse depends on what a worker saw first.

Workers are spawned (no state is inherited but what is handed to them) and leave when this
process does, however it ends: a crawl killed at any point leaves the store as a crawl with
one process killed there would, and the next crawl goes on from its cursors.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import multiprocessing
import os
import pickle
import queue
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from graph.batch import Cursor
from parsers import ParseIssue, catalog
from parsers.catalog import Catalog

Unit = TypeVar("Unit")
Shared = TypeVar("Shared")
# A batch: its events (or what they were folded into: see graph.ingest.prepare), issues, cursor.
Emit = Callable[[Any, list[ParseIssue], Cursor | None], None]
# Writing a batch, given as well the catalog as it was after so many entries of its unit's journal
# (for a batch to be parsed again here: see Writer.unit).
Write = Callable[[Any, list[ParseIssue], Cursor | None, Callable[[int], Catalog]], None]
Work = Callable[[Unit, Shared, Emit], dict[str, Any]]

# Below this many bytes to read, a crawl left to choose runs in one process: starting workers
# (each imports the parsers) costs more than they save.
AUTO_MIN_BYTES = 16 << 20
# How often a worker waiting for work, or the writer waiting for a worker, looks up.
POLL = 1.0
# Catalog journal entries that change it (the others are lookups, checked on replay).
CHANGES = frozenset({"add", "drop", "add_location"})


# A crawl makes and drops millions of small objects (records, events, rows) that hold no cycles;
# at Python's default the cycle collector runs a full pass over the parsers' caches (sqlglot
# trees) every few batches, about a tenth of the time a statement takes.
COLLECT_EVERY = (50_000, 50, 100)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cycle collector less often, over what was made before (modules, caches) never."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*COLLECT_EVERY)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class WorkerError(RuntimeError):
    """A worker process failed (a bug, not bad input: bad input is a ParseIssue) or died."""


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # (not on Linux)
        return os.cpu_count() or 1


def run(units: Sequence[Unit], work: Work[Unit, Shared], shared: Shared, *, workers: int,
        write: Write, take: Callable[[dict[str, Any]], None], again: Callable[[Unit], None],
        finished: Callable[[Unit], None]) -> None:
    """Run ``work`` over ``units`` in ``workers`` processes; in unit order, ``write`` each batch a
    unit's work emitted and ``take`` its summary, or, where its catalog lookups are answered
    otherwise in crawl order, run it ``again`` here instead; then tell it ``finished``.
    ``work`` and ``shared`` are pickled: ``work`` must be a module's function.

    A unit given out with the catalog as it is in crawl order when its turn to be written comes
    (no unit still being parsed then changed it) was parsed as one process would parse it: its
    batches are written as the worker spools them, without waiting for the rest of it."""
    ordered = Writer(catalog.current() or Catalog())
    spool = Path(tempfile.mkdtemp(prefix="lineage-crawl-"))
    context = multiprocessing.get_context("spawn")
    tasks: multiprocessing.Queue[Any] = context.Queue()
    results: multiprocessing.Queue[Any] = context.Queue()
    processes = [context.Process(target=_serve, daemon=True, name=f"lineage-worker-{number}",
                                 args=(tasks, results, work, shared, ordered.catalog.copy(), spool, os.getpid(),
                                       sys.getrecursionlimit()))
                 for number in range(min(workers, len(units)))]
    crew = _Crew(units, tasks, results, processes, ordered.changes)
    try:
        for process in processes:
            process.start()
        # One unit more than workers is queued, so a worker finds the next while this one writes.
        for _ in range(len(processes) + 1):
            crew.dispatch()
        for index, unit in enumerate(units):
            spooled = spool / f"{index}.pickle"
            if crew.given[index] == len(ordered.changes):
                ordered.streamed(crew.batches(index, spooled), crew.journals[index],
                                 functools.partial(crew.summary, index), write, take)
                del crew.journals[index]
            else:
                crew.wait_for(index)
                ordered.unit(unit, _batches(spooled), crew.summary(index), crew.journals.pop(index), write, take,
                             again)
            spooled.unlink(missing_ok=True)
            finished(unit)
    finally:
        _stop(processes, tasks)
        shutil.rmtree(spool, ignore_errors=True)


class _Crew:
    """The workers as the writer sees them: units given out (each with how many catalog changes
    it was given), batches spooled and summaries sent back, and each unit's catalog journal as
    far as it has come."""

    def __init__(self, units: Sequence[Any], tasks: multiprocessing.Queue[Any],
                 results: multiprocessing.Queue[Any], processes: Sequence[BaseProcess],
                 changes: list[tuple[Any, ...]]) -> None:
        self.units, self.tasks, self.results, self.processes = units, tasks, results, processes
        self.changes = changes  # (the writer's, growing as units are written)
        self.pending = iter(enumerate(units))
        self.given: dict[int, int] = {}
        self.told: dict[int, int] = {}  # batches spooled whole, by unit
        self.journals: dict[int, list[tuple[Any, ...]]] = {}
        self.done: dict[int, dict[str, Any]] = {}

    def dispatch(self) -> None:
        found = next(self.pending, None)
        if found is not None:
            index, unit = found
            self.given[index], self.told[index], self.journals[index] = len(self.changes), 0, []
            self.tasks.put((index, unit, list(self.changes)))

    def receive(self) -> None:
        """Take the next word of a worker: a batch spooled, or a unit done (then give out the next)."""
        kind, index, *rest = _receive(self.results, self.processes)
        if kind == "failed":
            raise WorkerError(f"a worker failed on {self.units[index]!r}:\n{rest[0]}")
        self.journals[index].extend(rest[-1])
        if kind == "batch":
            self.told[index] += 1
            return
        self.done[index] = rest[0]
        self.dispatch()

    def wait_for(self, index: int) -> None:
        while index not in self.done:
            self.receive()

    def summary(self, index: int) -> dict[str, Any]:
        self.wait_for(index)
        return self.done.pop(index)

    def batches(self, index: int, spooled: Path) -> Iterator[tuple[Any, list[ParseIssue], Cursor | None]]:
        """A unit's batches, each as soon as its worker has spooled it whole, to the last."""
        read = 0
        with contextlib.ExitStack() as closing:
            stream = None
            while True:
                while read < self.told[index]:
                    if stream is None:
                        stream = closing.enter_context(spooled.open("rb"))
                    yield pickle.load(stream)
                    read += 1
                if index in self.done:
                    return
                self.receive()


class Writer:
    """The catalog in crawl order, and the changes made to it so far (for units given out)."""

    def __init__(self, start: Catalog) -> None:
        self.catalog = start
        self.changes: list[tuple[Any, ...]] = []

    def unit(self, unit: Unit, batches: Iterable[tuple[Any, list[ParseIssue], Cursor | None]],
             summary: dict[str, Any], journal: list[tuple[Any, ...]],
             write: Write, take: Callable[[dict[str, Any]], None], again: Callable[[Unit], None]) -> None:
        """Write a unit's ``batches`` and ``take`` its summary where its ``journal`` replays on the
        catalog in crawl order; else run it ``again`` here. ``write`` is given, for a batch it
        parses again, the catalog in crawl order as it was after so many entries of the journal."""
        trial = self.catalog.copy()
        if trial.replay(journal):
            self._write(batches, journal, write)
            take(summary)
            self._moved_to(trial, journal)
        else:
            self.catalog.journal = []
            try:
                with catalog.using(self.catalog):
                    again(unit)
                self.changes.extend(entry for entry in self.catalog.journal if entry[0] in CHANGES)
            finally:
                self.catalog.journal = None


    def streamed(self, batches: Iterable[tuple[Any, list[ParseIssue], Cursor | None]],
                 journal: list[tuple[Any, ...]], summary: Callable[[], dict[str, Any]], write: Write,
                 take: Callable[[dict[str, Any]], None]) -> None:
        """Write the batches of a unit parsed against this very catalog as they come (its
        ``journal`` grows with them), then ``take`` its ``summary``."""
        self._write(batches, journal, write)
        take(summary())
        after = self.catalog.copy()
        if not after.replay(journal):
            raise WorkerError("a unit parsed against the catalog in crawl order looked up something otherwise")
        self._moved_to(after, journal)

    def _write(self, batches: Iterable[tuple[Any, list[ParseIssue], Cursor | None]],
               journal: list[tuple[Any, ...]], write: Write) -> None:
        """``write`` a unit's batches, each with the catalog as it was after so many entries of
        the unit's ``journal`` (this one, the catalog before the unit, replaying them)."""
        before = self.catalog
        for events, issues, cursor in batches:
            write(events, issues, cursor, lambda mark: _replayed(before, journal[:mark]))

    def _moved_to(self, after: Catalog, journal: list[tuple[Any, ...]]) -> None:
        """The catalog once a unit is written, and the changes its ``journal`` made to it."""
        self.catalog = after
        self.changes.extend(entry for entry in journal if entry[0] in CHANGES)


def _replayed(start: Catalog, journal: list[tuple[Any, ...]]) -> Catalog:
    found = start.copy()
    found.replay(journal)
    return found


def _receive(results: multiprocessing.Queue[Any], processes: Sequence[BaseProcess]) -> tuple[Any, ...]:
    while True:
        try:
            message: tuple[Any, ...] = results.get(timeout=POLL)
            return message
        except queue.Empty:
            dead = [process for process in processes if not process.is_alive()]
            if dead:
                raise WorkerError(f"worker {dead[0].name} died (exit code {dead[0].exitcode})") from None


def _batches(spooled: Path) -> Iterator[tuple[Any, list[ParseIssue], Cursor | None]]:
    with spooled.open("rb") as stream:
        while True:
            try:
                yield pickle.load(stream)
            except EOFError:
                return


def _stop(processes: Sequence[BaseProcess], tasks: multiprocessing.Queue[Any]) -> None:
    started = [process for process in processes if process.pid is not None]
    for _ in started:
        tasks.put(None)
    for process in started:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join()
    tasks.close()


def _serve(tasks: multiprocessing.Queue[Any], results: multiprocessing.Queue[Any], work: Work[Any, Any],
           shared: Any, start: Catalog, spool: Path, parent: int, recursion_limit: int) -> None:
    """A worker: take units until told to stop, or until the writer is gone."""
    sys.setrecursionlimit(recursion_limit)  # (deep SQL: as the writer's, see crawler.cli)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    gc.freeze()
    gc.set_threshold(*COLLECT_EVERY)  # (see fewer_collections: the worker's whole life)
    known = Known(start)
    while True:
        try:
            task = tasks.get(timeout=POLL)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if task is None:
            return
        index, unit, changes = task
        try:
            summary, journal, last = _work_on(index, unit, work, shared, known.given(changes), spool, results,
                                              parent)
            known.done(journal)
        except _Orphaned:
            return
        except Exception:  # noqa: BLE001  (told to the writer, which stops the crawl with it)
            results.put(("failed", index, traceback.format_exc()))
            continue
        results.put(("done", index, summary, last))


class _Orphaned(Exception):
    """The writer is gone: what this worker reads would be written by nobody."""


class Known:
    """A worker's catalog: the writer's when it gave out a unit. Kept from unit to unit while
    that stays the same, so that the template cache, keyed by the catalog's version, answers
    across units too; then a unit's journal begins with the lookups whose answers those cached
    parses took (every lookup made at that version), to be checked with its own."""

    def __init__(self, start: Catalog) -> None:
        self.start = start
        self.changes: list[tuple[Any, ...]] | None = None
        self.catalog = start
        self.version = -1
        self.lookups: list[tuple[Any, ...]] = []

    def given(self, changes: list[tuple[Any, ...]]) -> Catalog:
        if changes != self.changes or self.catalog.version != self.version:
            self.catalog = self.start.copy()
            self.catalog.replay(changes)
            self.changes, self.version, self.lookups = changes, self.catalog.version, []
        self.catalog.journal = list(self.lookups)
        return self.catalog

    def done(self, journal: list[tuple[Any, ...]]) -> None:
        if self.catalog.version == self.version:  # (no change that a cached parse could miss)
            self.lookups = list(dict.fromkeys(entry for entry in journal if entry[0] not in CHANGES))
        self.catalog.journal = None


def _work_on(index: int, unit: Any, work: Work[Any, Any], shared: Any, known: Catalog, spool: Path,
             results: multiprocessing.Queue[Any], parent: int
             ) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Do one unit against the catalog the writer had when it gave it out; spool its batches,
    telling the writer of each with the catalog journal's entries since the one before. Return
    the unit's summary, its whole journal, and the entries after its last batch."""
    told = 0  # journal entries sent with the batches so far

    def since() -> list[tuple[Any, ...]]:
        nonlocal told
        journal = known.journal or []
        news, told = journal[told:], len(journal)
        return news

    with (spool / f"{index}.pickle").open("wb") as stream, catalog.using(known):
        def emit(events: Any, issues: list[ParseIssue], cursor: Cursor | None) -> None:
            if os.getppid() != parent:
                raise _Orphaned
            pickle.dump((events, issues, cursor), stream, protocol=pickle.HIGHEST_PROTOCOL)
            stream.flush()  # (whole in the file before the writer is told)
            results.put(("batch", index, since()))

        summary = work(unit, shared, emit)
    return summary, list(known.journal or []), since()
