"""Job logs: Airflow task logs, Spark driver logs, and applications' own logs.

- ``airflow_task_log``: what Airflow's file task handler writes for one try of a task,
  ``<base_log_folder>/dag_id=<dag>/run_id=<run>/task_id=<task>/[map_index=<n>/]attempt=<try>.log``
  (Airflow 2.x lines ``[time] {file.py:12} INFO - message``, Airflow 3.x JSON lines). Told by
  its lines or by that layout. A try is one run, so the whole file is one record, made once the
  try has ended: 2.x's ``Task exited with return code``, 3.x's post-execute group closed (or the
  file untouched for an hour: a worker that died). Until then the file is held back and read
  again by a later crawl; after it, what is appended (2.x's follow-on schedule check) is no new
  run. A try that failed (``Marking task as FAILED``/``UP_FOR_RETRY``, a non-zero return code,
  3.x's ``Task failed with exception``) gives no lineage and is counted.
- ``spark_driver_log``: a Spark driver's log4j output (``yy/MM/dd HH:mm:ss LEVEL Class: message``,
  what ``spark-submit`` writes to stderr). Told by its lines. One driver is one run, complete at
  ``Successfully stopped SparkContext`` or ``Shutdown hook called`` (or an hour of quiet); a
  non-zero exit code or a Python traceback marks it failed.
- ``app_log``: an application's own log (Python ``logging``, or any text). Free text has no
  telling shape, so only ``type = "app_log"`` reads it. What one crawl finds appended to it is
  one record and one run (``applog:<path>:<offset>``).

A line over :data:`MAX_LINE_BYTES` is a ``line_too_long`` issue and is skipped; a record keeps at
most :data:`MAX_RECORD_BYTES` of lines (the rest is a ``log_truncated`` warning).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.registry import Read, SourceSpec, reader
from crawler.streams import ABANDONED_SECONDS, lines_from
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord
from parsers.joblogs.lines import parse_line
from parsers.naming import cluster_path

MAX_LINE_BYTES = 1 << 20
MAX_RECORD_BYTES = 16 << 20
# In a one-run log's cursor state: the run was recorded; what follows in the file is not a run.
RECORDED = "recorded"

_AIRFLOW2_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d[T ][\d:.,]+[^\]\n]*\] \{[\w.-]+:\d+\} "
                            rb"(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) - ", re.MULTILINE)
_LOG4J_LINE = re.compile(rb"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (?:TRACE|DEBUG|INFO|WARN|ERROR) [\w$.]+: ", re.MULTILINE)
_ATTEMPT = re.compile(r"^attempt=(\d+)\.log$")
_RETURN_CODE = re.compile(r"Task exited with return code (-?\d+)")
_SPARK_EXIT = re.compile(r"exitCode (-?\d+)")


def sniff_airflow(head: bytes) -> bool:
    """A 2.x task log's first lines, or a 3.x one's JSON lines with the task runner's events."""
    if head.startswith(b'{"timestamp":'):
        return b'"event":' in head and (b'"task_id":' in head or b'"event":"::group::' in head)
    return _AIRFLOW2_LINE.search(head) is not None


def names_airflow(path: Path) -> bool:
    return _ATTEMPT.match(path.name) is not None and any(part.startswith("task_id=") for part in path.parts)


def sniff_spark_driver(head: bytes) -> bool:
    return len(_LOG4J_LINE.findall(head)) >= 2 and b"Spark" in head


@dataclasses.dataclass(slots=True)
class _Lines:
    """The lines of one stretch of a log, as a record keeps them, and where reading ended."""

    kept: list[list[Any]] = dataclasses.field(default_factory=list)
    issues: list[ParseIssue] = dataclasses.field(default_factory=list)
    offset: int = 0
    line: int = 0
    size: int = 0


def _read(path: Path, start: Start, *, limit: int = MAX_RECORD_BYTES) -> Iterator[_Lines]:
    """Complete lines from ``start`` on, in stretches of at most ``limit`` bytes."""
    part = _Lines(offset=start.offset, line=start.line)
    for raw, offset, number in lines_from(path, start):
        if len(raw) > MAX_LINE_BYTES:
            part.issues.append(ParseIssue(
                code="line_too_long", origin=Origin(path=str(path), line=number, byte_offset=offset),
                message=f"line {number}: {len(raw):,} bytes, over the {MAX_LINE_BYTES:,} a log line may have; skipped",
                snippet=raw[:200].decode("utf-8", errors="replace")))
        else:
            if part.size + len(raw) > limit and part.kept:
                yield part
                part = _Lines(offset=offset, line=number - 1)
            part.kept.append([number, offset, raw.decode("utf-8", errors="replace").rstrip("\r\n")])
            part.size += len(raw)
        part.offset, part.line = offset + len(raw), number
    yield part


def _abandoned(path: Path) -> bool:
    return time.time() - path.stat().st_mtime > ABANDONED_SECONDS


def _record(source_type: str, log_format: str, spec: SourceSpec, path: Path, lines: list[list[Any]],
            context: Mapping[str, Any], status: str) -> SourceRecord:
    bundle = {"format": log_format, "lines": lines, "context": dict(context), "rules": [dict(r) for r in spec.rules]}
    first = next((parse_line(log_format, text).timestamp for _, _, text in lines[:50]
                  if parse_line(log_format, text).timestamp), None)
    return SourceRecord(
        source_type=source_type, text=json.dumps(bundle, sort_keys=True, separators=(",", ":")),
        origin=Origin(path=str(path), line=lines[0][0] if lines else 1, byte_offset=lines[0][1] if lines else 0),
        timestamp=normalize(first) if first else None, dialect=spec.dialect, namespace=spec.namespace,
        database=spec.database, schema=spec.schema, attributes={"status": status})


def _one_run(source_type: str, log_format: str, spec: SourceSpec, path: Path, start: Start,
             context: Mapping[str, Any], outcome: Callable[[list[list[Any]]], tuple[bool, bool]]) -> Iterator[Read]:
    """The whole file as one record, once its run has ended (see the module's docstring)."""
    recorded: Callable[[], dict[str, Any]] = lambda: {RECORDED: True}  # noqa: E731
    if start.state.get(RECORDED):
        *_, tail = _read(path, start, limit=1 << 62)
        yield Read(None, tail.offset, tail.line, recorded)  # (what comes after the end is no new run)
        return
    parts = list(_read(path, start))
    lines = [line for part in parts for line in part.kept]
    ended, failed = outcome(lines)
    if not ended and not _abandoned(path):
        yield Read(None, start.offset, start.line, dict)  # still being written: read again next time
        return
    issues = [issue for part in parts for issue in part.issues]
    if len(parts) > 1:
        issues.append(ParseIssue(
            code="log_truncated", severity="warning", origin=Origin(path=str(path), line=parts[1].line + 1),
            message=f"over {MAX_RECORD_BYTES:,} bytes of lines in one run: the lines after line {parts[1].line} "
                    "are not read"))
    for issue in issues:
        yield Read(issue, start.offset, start.line, None)
    end = parts[-1]
    yield Read(_record(source_type, log_format, spec, path, parts[0].kept, context,
                       "failed" if failed else "completed"), end.offset, end.line, recorded)


def airflow_context(path: Path) -> dict[str, Any]:
    """The try a task log's path names: ``dag_id=.../run_id=.../task_id=.../attempt=N.log`` (2.3
    and later), or the older ``<dag>/<task>/<logical date>/<try>.log``."""
    keyed = dict(part.split("=", 1) for part in path.parts[:-1] if "=" in part)
    attempt = _ATTEMPT.match(path.name)
    if "dag_id" in keyed and "task_id" in keyed:
        context: dict[str, Any] = {key: keyed[key] for key in ("dag_id", "task_id", "run_id", "map_index")
                                   if key in keyed}
        if attempt:
            context["try_number"] = attempt[1]
        return context
    if path.stem.isdigit() and len(path.parts) >= 4:
        return {"dag_id": path.parts[-4], "task_id": path.parts[-3], "run_id": path.parts[-2], "try_number": path.stem}
    return {}


def airflow_outcome(lines: list[list[Any]]) -> tuple[bool, bool]:
    """Whether a try's log is complete, and whether the try failed."""
    ended = failed = post_execute = False
    for _, _, text in lines[-400:]:
        message = parse_line("airflow", text).message
        code = _RETURN_CODE.search(message)
        if code:
            ended, failed = True, failed or code[1] != "0"
        elif message.startswith("Marking task as "):
            failed = failed or message.startswith(("Marking task as FAILED", "Marking task as UP_FOR_RETRY"))
        elif message == "::group::Post Execute":
            post_execute = True
        elif message == "::endgroup::" and post_execute:
            ended = True
        elif message.startswith("Task failed with exception"):
            failed = True
    return ended, failed


def spark_outcome(lines: list[list[Any]]) -> tuple[bool, bool]:
    ended = failed = False
    for _, _, text in lines:
        if "Successfully stopped SparkContext" in text or "Shutdown hook called" in text:
            ended = True
        exit_code = _SPARK_EXIT.search(text) if "SparkContext" in text else None
        if (exit_code and exit_code[1] != "0") or text.startswith("Traceback (most recent call last)"):
            failed = True
    return ended, failed


@reader("airflow_task_log", sniff=sniff_airflow, names=names_airflow)
def read_airflow_task_log(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _one_run("airflow_task_log", "airflow", spec, path, start, airflow_context(path), airflow_outcome)


@reader("spark_driver_log", sniff=sniff_spark_driver)
def read_spark_driver_log(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _one_run("spark_driver_log", "spark_driver", spec, path, start, {}, spark_outcome)


@reader("app_log")
def read_app_log(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """What was appended since the last crawl: one record (a run) per stretch of lines."""
    context = {"job": cluster_path(path.name).removesuffix(".log")}
    offset, line = start.offset, start.line
    for part in _read(path, start):
        for issue in part.issues:
            yield Read(issue, offset, line, None)
        if part.kept:
            yield Read(_record("app_log", "app", spec, path, part.kept, context, "completed"), part.offset, part.line,
                       dict)
        offset, line = part.offset, part.line
    yield Read(None, offset, line, dict)
