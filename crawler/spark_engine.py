"""Reading and parsing as Spark tasks, writing here, in crawl order (``--engine spark``).

The split is :mod:`crawler.parallel`'s, with Spark's executors in place of worker processes:
this process (the driver) lists the files and where each starts, cuts them into the same units
(a file, or the files of one rotated or rolling log), and hands each unit to Spark as a job of
one task; the task reads the unit's files from their cursors, parses them against the catalog
the driver had when it gave the unit out, and returns its batches (events already folded, with
their issues and cursors), its counters and its catalog journal. The driver writes them unit by
unit in crawl order, each batch in one transaction with its cursor, exactly as the local engine
does, and parses a unit again itself where its journal is answered otherwise in crawl order.
As many units are in flight as Spark has task slots, and one more: Spark schedules them (no
scheduler of ours), on ``local[N]`` or any cluster its master URL names.

Executors must import this package (the ``lineage-crawler`` wheel, installed where their Python
runs) and reach the files at the paths the driver lists them by. A crawl killed at any point
stops its Spark jobs with it (the JVM ends with its Python driver) and leaves the store as the
local engine would; the next crawl goes on from its cursors.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import hadoop
from crawler.errors import CrawlerError
from crawler.parallel import Known, Unit, Work, Write, Writer
from parsers import ParseIssue, catalog
from parsers.catalog import Catalog

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
APP_NAME = "lineage-crawl"


class SparkEngineError(CrawlerError):
    """Spark cannot be started here (no pyspark, no Java) or a task failed."""


@contextlib.contextmanager
def driver(master: str | None) -> Iterator[SparkSession]:
    """This process as Spark's driver for a crawl: its session (a new one on ``master``, stopped
    at the end, or the one it has), with files named by URI read through its Hadoop (see
    :mod:`crawler.hadoop`)."""
    session, created = _session(master)
    try:
        with hadoop.using(hadoop.JvmFiles(session.sparkContext)):
            yield session
    finally:
        if created:
            session.stop()


def run(units: Sequence[Unit], work: Work[Unit, Any], shared: Any, *, master: str | None,
        write: Write, take: Callable[[dict[str, Any]], None], again: Callable[[Unit], None],
        finished: Callable[[Unit], None], fetch: Callable[[Unit], list[str]] = lambda unit: []) -> None:
    """As :func:`crawler.parallel.run`, with each unit's ``work`` a Spark job on ``master``; the
    files a unit names by URI (``fetch``) are read for its task by Spark (its ``binaryFile`` source)."""
    session, created = _session(master)
    context = session.sparkContext
    ordered = Writer(catalog.current() or Catalog())
    files = hadoop.current()
    listed = dict(files.listed) if isinstance(files, hadoop.JvmFiles) else {}
    given = context.broadcast((uuid.uuid4().hex, work, shared, ordered.catalog.copy(), sys.getrecursionlimit(),
                               listed))
    slots = max(1, context.defaultParallelism)
    pool = ThreadPoolExecutor(max_workers=slots + 1, thread_name_prefix="lineage-spark")
    futures: dict[int, Future[tuple[dict[str, Any], list[tuple[Any, ...]], bytes]]] = {}

    def dispatch(index: int) -> None:
        if index < len(units):
            futures[index] = pool.submit(_job, session, given, index, units[index], list(ordered.changes),
                                         fetch(units[index]))

    try:
        for index in range(slots + 1):
            dispatch(index)
        for index, unit in enumerate(units):
            try:
                summary, journal, spooled = futures.pop(index).result()
            except Exception as error:  # (the task's traceback is in Spark's message)
                raise SparkEngineError(f"a Spark task failed on {unit!r}:\n{error}") from error
            dispatch(index + slots + 1)
            ordered.unit(unit, _batches(spooled), summary, journal, write, take, again)
            finished(unit)
    finally:
        if futures:
            context.cancelAllJobs()
        pool.shutdown(wait=True, cancel_futures=True)
        given.unpersist()
        if created:
            session.stop()


def _session(master: str | None) -> tuple[SparkSession, bool]:
    """The SparkSession of this process (a test's, shared) or a new one on ``master``, and
    whether it is new (then the crawl stops it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkEngineError("--engine spark needs pyspark: pip install 'lineage-crawler[spark]'") from error
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkEngineError("--engine spark needs Java 17 or later (java on the PATH, or JAVA_HOME)")
    return build_session(master), True


def build_session(master: str | None) -> SparkSession:
    """A SparkSession for crawling on ``master``: no UI, results as large as a unit's, and on
    ``local`` masters tasks run by this Python, importing this package as it is here. No
    ``master``: spark-submit's (its ``--master``), or else ``local[*]``."""
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # (run by spark-submit, which started the JVM)
    if master is None and not submitted:
        master = DEFAULT_MASTER
    builder = SparkSession.builder.appName(APP_NAME)
    if master is not None:
        builder = builder.master(master)
    builder = (builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.maxResultSize", "0"))
    if (master or "").startswith("local"):
        here = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        builder = builder.config("spark.executorEnv.PYTHONPATH", path)
        # The Python tasks run in: pyspark reads it from the environment when the context starts
        # (its default is the `python3` on the PATH, which may not have this package's needs).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _job(session: SparkSession, given: Any, index: int, unit: Any, changes: list[tuple[Any, ...]],
         uris: list[str]) -> tuple[dict[str, Any], list[tuple[Any, ...]], bytes]:
    """One unit as a Spark job of one task, which is given the bytes of the files the unit names
    by URI, whole (Spark's Python tasks have no Hadoop client to read from an offset); what it
    returns. (Read by Spark SQL's ``binaryFile`` source: ``binaryFiles`` globs each path, and a
    glob cannot name a file with a colon in its path, as Airflow's ``run_id=...T02:00:00`` has.)"""
    context = session.sparkContext
    context.setJobDescription(f"lineage crawl: unit {index}")
    task = (given, unit, changes)
    if uris:
        # (recursiveFileLookup: no partition discovery, which `k=v` folders, as Airflow's, would start)
        files = (session.read.format("binaryFile").option("recursiveFileLookup", "true").load(uris)
                 .select("path", "content"))
        (result,) = files.rdd.coalesce(1).mapPartitions(
            lambda rows: [_task(task, {row.path: bytes(row.content) for row in rows})]).collect()
    else:
        (result,) = context.parallelize([task], 1).map(_task).collect()
    summary, journal, spooled = result
    return summary, journal, spooled


# A task's Python worker keeps its catalog from unit to unit (and so its template cache), as a
# worker process does: by crawl (its broadcast's token).
_KNOWN: dict[str, Known] = {}


def _task(task: tuple[Any, Any, list[tuple[Any, ...]]],
          fetched: dict[str, bytes] | None = None) -> tuple[dict[str, Any], list[tuple[Any, ...]], bytes]:
    """On an executor: read and parse one unit (its files named by URI: as ``fetched``) against
    the driver's catalog; its summary, its catalog journal and its batches, pickled."""
    given, unit, changes = task
    crawl, work, shared, start, recursion_limit, listed = given.value
    sys.setrecursionlimit(max(sys.getrecursionlimit(), recursion_limit))
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    known = _KNOWN.get(crawl)
    if known is None:
        _KNOWN.clear()
        known = _KNOWN[crawl] = Known(start)
    stream = io.BytesIO()
    current = known.given(changes)
    with catalog.using(current), hadoop.using(hadoop.Snapshot(fetched or {}, listed)):
        def emit(events: Any, issues: list[ParseIssue], cursor: Any) -> None:
            pickle.dump((events, issues, cursor), stream, protocol=pickle.HIGHEST_PROTOCOL)

        summary = work(unit, shared, emit)
    journal = list(current.journal or ())
    known.done(journal)
    return summary, journal, stream.getvalue()


def _batches(spooled: bytes) -> Iterator[tuple[Any, list[ParseIssue], Any]]:
    stream = io.BytesIO(spooled)
    while stream.tell() < len(spooled):
        yield pickle.load(stream)

