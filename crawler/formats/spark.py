"""Spark event logs, as Spark writes them to ``spark.eventLog.dir`` for its history server.

One JSON object a line, each an event: the application's start and end, its environment, jobs,
stages, tasks, and for Spark SQL each execution's start (with its physical plan) and end
(https://spark.apache.org/docs/latest/monitoring.html#viewing-after-the-fact). Lineage needs a
few of them; most bytes are task events, skipped by their name without decoding their JSON.

The reader groups what belongs together into one record per finished SQL execution: the start
events of a root execution and of the executions nested in it (a CTAS or ``saveAsTable`` runs
its write as a child execution, ``rootExecutionId``), its end (``errorMessage``: a failed write
gives no lineage), the catalog events in between (which table a CTAS created), and the
application's context (name, id, attempt, user, Spark version, master, command line, warehouse
directory). An RDD job that reads files (``sc.textFile``) outside any SQL execution is a record
too. What is open at the end of a read (executions started and not ended, the context) goes on
in the next crawl through the cursor, and into the next part of a rolling log.

Files: a single file per application (``local-1700000000000``, ``app-20240101010101-0001``,
``application_1700000000000_0001_1``, ``.inprogress`` while it runs) or a rolling log
(``eventlog_v2_<appId>/events_<n>_<appId>``, read in numeric order; only part 1 starts with
``SparkListenerLogStart``; ``appstatus_<appId>.inprogress`` while the application runs), plain or
compressed: ``.zstd`` (Spark's default codec) is read; ``.lz4``, ``.lzf`` and ``.snappy`` are in
the JVM libraries' own stream framing and reported as ``unsupported_codec``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.registry import Read, SourceSpec, reader
from crawler.streams import ABANDONED_SECONDS, lines_from
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord
from parsers.redact import redact_command, redact_properties

SQL_EVENTS = "org.apache.spark.sql.execution.ui."
CATALOG_EVENTS = "org.apache.spark.sql.catalyst.catalog."
# The events lineage needs, by their "Event" name; every other line is skipped unread.
_WANTED = (
    b"SparkListenerLogStart", b"SparkListenerEnvironmentUpdate", b"SparkListenerApplicationStart",
    b"SparkListenerApplicationEnd", b"SparkListenerJobStart", b"SparkListenerJobEnd",
    (SQL_EVENTS + "SparkListenerSQLExecutionStart").encode(), (SQL_EVENTS + "SparkListenerSQLExecutionEnd").encode(),
    CATALOG_EVENTS.encode(),
)
_PREFIX = b'{"Event":"'
_SQL_EXECUTION_ID = b'"spark.sql.execution.id"'
# Codecs whose stream framing is the JVM library's own (lz4-java's LZ4BlockOutputStream, snappy-java's
# SnappyOutputStream, compress-lzf): no well-kept Python library reads those streams.
UNSUPPORTED_CODECS = (".lz4", ".lzf", ".snappy")
# Spark's file names for event logs: an application id (local, standalone, YARN, Kubernetes,
# Mesos), an attempt, a codec, the in-progress mark; or a part of a rolling log.
EVENT_LOG_NAME = re.compile(
    r"^(?:events_\d+_)?(?:local-\d+|app-\d+-\d+|application_\d+_\d+|spark-[0-9a-f]+|driver-[\w-]+)(?:_[\w-]+)?"
    r"(?:\.(?:zstd|zst|lz4|lzf|snappy))?(?:\.inprogress)?$")
_PART = re.compile(r"^events_(\d+)_(.+?)(\.(?:zstd|zst|lz4|lzf|snappy))?$")
# What a SQL execution's start keeps for the parser: its plans, where it came from, and which
# code ran it (the call site's stack says whether Spark ML saved a model).
_KEPT = ("executionId", "rootExecutionId", "description", "physicalPlanDescription", "sparkPlanInfo", "time")
_DETAILS_KEPT = 2000
# Scans of earlier executions an application keeps at most, for what a model it saves was trained on.
_SCANS_KEPT = 200


def sniff(head: bytes) -> bool:
    """An event log, or a later part of a rolling one (which starts with any event)."""
    return head.startswith(_PREFIX) and b'"Event":"' in head[:12]


def names_event_log(path: Path) -> bool:
    return EVENT_LOG_NAME.match(path.name) is not None


def part_number(path: Path) -> int | None:
    """The number of a rolling log's part, ``events_<n>_<appId>``; None for other files."""
    match = _PART.match(path.name.removesuffix(".inprogress"))
    return int(match[1]) if match and path.parent.name.startswith("eventlog_v2_") else None


def previous_part(path: Path) -> Path | None:
    """The part of a rolling log that ``path`` goes on from, if any."""
    number = part_number(path)
    if not number or number == 1:
        return None
    match = _PART.match(path.name)
    assert match is not None
    for candidate in sorted(path.parent.glob(f"events_{number - 1}_{match[2]}*")):
        return candidate
    return None


@reader("spark_eventlog", sniff=sniff, names=names_event_log, continues=previous_part,
        ignores=lambda path: path.name.startswith("appstatus_"))
def read_spark_eventlog(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """Records of the SQL executions (and file-reading RDD jobs) that end after ``start``."""
    codec = next((suffix for suffix in UNSUPPORTED_CODECS if path.name.removesuffix(".inprogress").endswith(suffix)),
                 None)
    if codec is not None:
        yield Read(ParseIssue(
            code="unsupported_codec", origin=Origin(path=str(path), line=0, byte_offset=0),
            message=f"{path.name}: Spark's {codec[1:]} event logs use the JVM library's own stream framing, which "
                    "this crawler cannot read; set spark.eventLog.compression.codec=zstd (Spark's default) "
                    "or turn compression off"), 0, 0)
        return
    application = Application.from_state(start.state)
    offset, number = start.offset, start.line
    lines = lines_from(path, start)
    try:
        for raw, offset, number in lines:
            for item in application.take(raw, Origin(path=str(path), line=number, byte_offset=offset)):
                if isinstance(item, SourceRecord) and spec.namespace:
                    item = dataclasses.replace(item, namespace=spec.namespace)
                yield Read(item, offset + len(raw), number, application.to_state)
            offset += len(raw)
    except EOFError:
        if not _growing(path):
            raise  # a compressed log cut short that nobody is writing to any more: the crawl reports it
        # A compressed log still being written ends inside its last frame: read on next time.
    application.growing = _growing(path)
    yield Read(None, offset, number, application.to_state)


def _growing(path: Path) -> bool:
    """Whether Spark may still write to this file: an application still running (its log marked
    ``.inprogress``), not abandoned (a driver that died leaves the mark for good)."""
    if time.time() - path.stat().st_mtime > ABANDONED_SECONDS:
        return False
    if path.name.endswith(".inprogress"):
        return True
    number = part_number(path)
    if number is None:
        return False
    app = _PART.match(path.name)
    assert app is not None
    later = any(path.parent.glob(f"events_{number + 1}_{app[2]}*"))
    return not later and (path.parent / f"appstatus_{app[2]}.inprogress").exists()


class Application:
    """What one application's log has told so far: its context, the SQL executions started and
    not yet ended, the catalog events since, and the scans of its earlier executions."""

    def __init__(self) -> None:
        self.context: dict[str, Any] = {}
        self.pending: dict[str, dict[str, Any]] = {}  # execution id: its start, where it is, its end
        self.jobs: dict[str, dict[str, Any]] = {}  # RDD jobs reading files: job id: inputs, where
        self.catalog: list[dict[str, Any]] = []  # catalog events while executions are open
        self.scans: list[dict[str, Any]] = []  # scans of the application's ended executions
        self.growing = False

    def to_state(self) -> dict[str, Any]:
        state = {"context": self.context, "pending": self.pending, "jobs": self.jobs, "catalog": self.catalog,
                 "scans": self.scans, "growing": self.growing}
        return {key: value for key, value in state.items() if value}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Application:
        application = cls()
        application.context = dict(state.get("context", {}))
        application.pending = {key: dict(value) for key, value in state.get("pending", {}).items()}
        application.jobs = {key: dict(value) for key, value in state.get("jobs", {}).items()}
        application.catalog = list(state.get("catalog", []))
        application.scans = list(state.get("scans", []))
        return application

    def take(self, raw: bytes, origin: Origin) -> Iterator[SourceRecord | ParseIssue]:
        """The records (and issues) one line of the log completes. Spark writes compact JSON with
        the event's name first, which tells what to skip unread; any other line is decoded."""
        if raw.startswith(_PREFIX):
            name = raw[len(_PREFIX):raw.find(b'"', len(_PREFIX))]
            if not name.startswith(_WANTED):
                return  # task, stage, executor, block manager, metrics events: nothing for lineage
            if name == b"SparkListenerJobStart" and _SQL_EXECUTION_ID in raw:
                return  # a job of a SQL execution: the execution's plan says what it read
        elif not raw.strip():
            return
        try:
            event = json.loads(raw)
        except ValueError as error:
            yield _bad_line(origin, raw, f"a cut or damaged event ({error})")
            return
        if not isinstance(event, dict) or not isinstance(event.get("Event"), str):
            yield _bad_line(origin, raw, "not an event (a JSON object with an \"Event\" name)")
            return
        if event["Event"].encode().startswith(_WANTED):
            yield from self._event(event["Event"], event, origin)

    def _event(self, name: str, event: dict[str, Any], origin: Origin) -> Iterator[SourceRecord | ParseIssue]:
        short = name.rsplit(".", 1)[-1]
        if short == "SparkListenerLogStart":
            self.context["spark_version"] = event.get("Spark Version")
        elif short == "SparkListenerApplicationStart":
            self._start(event)
        elif short == "SparkListenerApplicationEnd":
            self.context["ended_at"] = normalize(event.get("Timestamp"))
        elif short == "SparkListenerEnvironmentUpdate":
            self._environment(event)
        elif short == "SparkListenerSQLExecutionStart":
            self._execution_start(event, origin)
        elif short == "SparkListenerSQLExecutionEnd":
            yield from self._execution_end(event)
        elif short == "SparkListenerJobStart":
            self._job_start(event, origin)
        elif short == "SparkListenerJobEnd":
            yield from self._job_end(event)
        elif name.startswith(CATALOG_EVENTS) and self.pending:
            self.catalog.append({key: value for key, value in event.items() if isinstance(value, str)})

    def _start(self, event: dict[str, Any]) -> None:
        app = self.context
        app.update(name=event.get("App Name"), id=event.get("App ID"), attempt=event.get("App Attempt ID"),
                   user=event.get("User"), started_at=normalize(event.get("Timestamp")))

    def _environment(self, event: dict[str, Any]) -> None:
        spark = _properties(event.get("Spark Properties"))
        system = _properties(event.get("System Properties"))
        hadoop = _properties(event.get("Hadoop Properties"))
        kept = {key: value for key, value in spark.items()
                if key in _KEPT_PROPERTIES or key.startswith("spark.sql.catalog.")}
        self.context.update(
            master=spark.get("spark.master"), warehouse=spark.get("spark.sql.warehouse.dir"),
            default_fs=hadoop.get("fs.defaultFS"), command=redact_command(system.get("sun.java.command", "")) or None,
            properties=redact_properties(kept))
        self.context.setdefault("name", spark.get("spark.app.name"))
        self.context.setdefault("id", spark.get("spark.app.id"))

    def _execution_start(self, event: dict[str, Any], origin: Origin) -> None:
        start = {key: event[key] for key in _KEPT if key in event}
        details = event.get("details")
        if isinstance(details, str):
            start["details"] = details[:_DETAILS_KEPT]
        execution = str(event.get("executionId"))
        self.pending[execution] = {"start": start, "origin": [origin.path, origin.line, origin.byte_offset]}

    def _execution_end(self, event: dict[str, Any]) -> Iterator[SourceRecord]:
        execution = str(event.get("executionId"))
        entry = self.pending.get(execution)
        if entry is None:
            return  # its start was before what this log holds (a rolling log whose first parts are gone)
        entry["end"] = {"time": event.get("time"), "error": event.get("errorMessage") or ""}
        root = str(entry["start"].get("rootExecutionId", execution))
        if root != execution and root in self.pending:
            return  # a nested execution: it goes with its root's record
        family = sorted((key for key, value in self.pending.items()
                         if key == execution or str(value["start"].get("rootExecutionId")) == execution), key=int)
        members = [self.pending.pop(key) for key in family]
        yield self._record(members)
        self.catalog = [] if not self.pending else self.catalog
        self.scans = (self.scans + [scan for member in members for scan in _scans(member["start"])])[-_SCANS_KEPT:]

    def _record(self, members: list[dict[str, Any]]) -> SourceRecord:
        root = members[0]
        errors = [member["end"]["error"] for member in members if member.get("end", {}).get("error")]
        bundle = {"application": self.context, "executions": [member["start"] for member in members],
                  "catalog": self.catalog, "earlier_scans": self.scans if _saves_model(members) else []}
        return _record(bundle, _origin(root["origin"]), root["start"].get("time"), self.context, failed=bool(errors))

    def _job_start(self, event: dict[str, Any], origin: Origin) -> None:
        inputs = sorted({info["Name"] for stage in event.get("Stage Infos", []) for info in stage.get("RDD Info", [])
                         if _reads_files(info)})
        if inputs:
            self.jobs[str(event.get("Job ID"))] = {"inputs": inputs, "time": event.get("Submission Time"),
                                                   "origin": [origin.path, origin.line, origin.byte_offset]}

    def _job_end(self, event: dict[str, Any]) -> Iterator[SourceRecord]:
        job = self.jobs.pop(str(event.get("Job ID")), None)
        if job is None:
            return
        result = event.get("Job Result", {})
        failed = isinstance(result, dict) and result.get("Result") not in (None, "JobSucceeded")
        bundle = {"application": self.context, "rdd_inputs": job["inputs"], "job": event.get("Job ID")}
        yield _record(bundle, _origin(job["origin"]), job["time"], self.context, failed=failed)


_KEPT_PROPERTIES = frozenset({
    "spark.master", "spark.submit.deployMode", "spark.app.name", "spark.sql.warehouse.dir",
    "spark.sql.catalogImplementation", "spark.sql.defaultCatalog", "spark.executor.instances",
    "spark.executor.memory", "spark.driver.memory", "spark.sql.shuffle.partitions"})
# RDDs that read files name themselves after the path (sc.textFile(path).name == path).
_FILE_RDD_SCOPES = frozenset({"textFile", "wholeTextFiles", "binaryFiles", "sequenceFile", "objectFile", "hadoopFile",
                              "newAPIHadoopFile", "hadoopRDD", "newAPIHadoopRDD"})


def _reads_files(info: Mapping[str, Any]) -> bool:
    scope = info.get("Scope")
    if not isinstance(scope, str) or not isinstance(info.get("Name"), str):
        return False
    try:
        name = json.loads(scope).get("name")
    except (ValueError, AttributeError):
        return False
    return name in _FILE_RDD_SCOPES and ("/" in info["Name"] or ":" in info["Name"])


def _properties(value: Any) -> dict[str, str]:
    """Properties as Spark writes them: an object (3.x and 4.x), or a list of pairs (older)."""
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    if isinstance(value, list):
        return {str(pair[0]): str(pair[1]) for pair in value if isinstance(pair, list) and len(pair) == 2}
    return {}


def _scans(start: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scan nodes of an execution's plan, as the parser reads them (for what a model that a
    later execution saves was trained on)."""
    found, stack = [], [start.get("sparkPlanInfo")]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        name = node.get("nodeName", "")
        if isinstance(name, str) and (name.startswith(("Scan ", "BatchScan")) or name == "HiveTableScan"):
            found.append({key: node.get(key) for key in ("nodeName", "simpleString", "metadata")})
        stack.extend(node.get("children") or [])
    return found


def _saves_model(members: list[dict[str, Any]]) -> bool:
    return any("org.apache.spark.ml." in member["start"].get("details", "") for member in members)


def _origin(where: list[Any]) -> Origin:
    """Where an entry began: [path, line, byte offset] (a rolling log's earlier part, maybe)."""
    path, line, offset = where
    return Origin(path=path, line=line, byte_offset=offset)


def _record(bundle: dict[str, Any], origin: Origin, when: Any, context: Mapping[str, Any], *,
            failed: bool) -> SourceRecord:
    return SourceRecord(
        source_type="spark_eventlog",
        text=json.dumps(bundle, sort_keys=True, separators=(",", ":")),
        origin=origin,
        timestamp=normalize(when),
        user=context.get("user"),
        application=context.get("name"),
        # (No session_id: that would give the record a SQL session. The attempt is the parser's.)
        attributes={"status": "failed" if failed else "completed", "attempt": _attempt(context) or ""},
    )


def _attempt(context: Mapping[str, Any]) -> str | None:
    if not context.get("id"):
        return None
    return f"{context['id']}/{context['attempt']}" if context.get("attempt") else str(context["id"])


def _bad_line(origin: Origin, raw: bytes, reason: str) -> ParseIssue:
    return ParseIssue(code="bad_event", origin=origin, message=f"line {origin.line}: {reason}; skipped",
                      snippet=raw[:200].decode("utf-8", errors="replace"))
