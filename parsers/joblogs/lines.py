"""One line of a job log as its writer framed it: time, level, where it came from, message.

Formats:

- ``airflow``: Airflow 2.x's file task handler, ``[%(asctime)s] {%(filename)s:%(lineno)d}
  %(levelname)s - %(message)s``, and Airflow 3.x's JSON lines (structlog: ``timestamp``,
  ``level``, ``event``, ``logger`` and the task's fields);
- ``spark_driver``: log4j's ``yy/MM/dd HH:mm:ss LEVEL Class: message`` (Spark's default
  pattern), ISO times too; lines without it (the job's own prints) are messages of their own;
- ``app``: Python ``logging`` lines (``LEVEL:logger:message``, or an ``asctime`` first); the
  whole line is the message.

A line is ``internal`` when the scheduler or engine wrote it about itself (Airflow's task runner
loading the DAG file, Spark's block manager): its paths are no datasets, but it may still tell
the code (the DAG file, the Spark version).

>>> line = parse_line("airflow", "[2026-11-20T02:00:01.120+0000] {train.py:41} INFO - read table x")
>>> line.timestamp, line.level, line.source, line.message, line.internal
('2026-11-20T02:00:01.120+00:00', 'INFO', 'train.py', 'read table x', False)
>>> parse_line("spark_driver", "26/12/05 08:54:22 INFO SharedState: Warehouse path is '/wh'.").timestamp
'2026-12-05T08:54:22'
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

_AIRFLOW2 = re.compile(r"^\[(?P<ts>[^\]]{10,40})\] \{(?P<source>[^}:]+):\d+\} (?P<level>[A-Z]+) - (?P<msg>.*)$")
_LOG4J = re.compile(r"^(?P<ts>\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)\s+"
                    r"(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)\s+(?P<source>[\w$.\-]+):\s(?P<msg>.*)$")
_PYTHON_DEFAULT = re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<source>[^:\s]*):(?P<msg>.*)$")
_LEADING_TIME = re.compile(r"^\[?(?P<ts>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]?\s*")
_LEVEL = re.compile(r"\b(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b")

# Airflow 2.x files of the task runner's own lines (the DAG bag, dependencies, the try's start
# and end): what they say is about Airflow, not the task's data.
AIRFLOW2_INTERNAL = frozenset({
    "taskinstance.py", "task_command.py", "standard_task_runner.py", "local_task_job_runner.py",
    "local_task_job.py", "base_task_runner.py", "dagbag.py", "dagrun.py", "dag.py", "settings.py",
    "configuration.py", "plugins_manager.py", "listener.py", "cli.py", "secrets_masker.py"})
# Airflow 3.x loggers of its own machinery; ``task`` is the task runner (``task.stdout`` and
# ``task.stderr`` are the task's prints).
AIRFLOW3_INTERNAL = ("airflow.dag_processing", "airflow.models", "airflow.sdk", "airflow.utils", "airflow.jobs",
                     "airflow.executors", "airflow.listeners", "supervisor")


@dataclasses.dataclass(frozen=True, slots=True)
class LogLine:
    message: str
    timestamp: str | None = None
    level: str | None = None
    source: str | None = None
    internal: bool = False
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)


def parse_line(log_format: str, text: str) -> LogLine:
    """A line of a log of ``log_format`` (``airflow``, ``spark_driver`` or ``app``)."""
    text = text.rstrip("\r\n")
    if log_format == "airflow":
        return _airflow(text)
    if log_format == "spark_driver":
        match = _LOG4J.match(text)
        if match is None:
            return LogLine(message=text)
        return LogLine(message=match["msg"], timestamp=iso_time(match["ts"]), level=match["level"],
                       source=match["source"], internal=True)
    return _app(text)


def _airflow(text: str) -> LogLine:
    if text.startswith("{"):
        try:
            event = json.loads(text)
        except ValueError:
            return LogLine(message=text)
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            logger = str(event.get("logger") or "")
            internal = logger.startswith(AIRFLOW3_INTERNAL) or (
                logger == "task" and event.get("filename") == "task_runner.py")
            return LogLine(message=event["event"], timestamp=iso_time(str(event.get("timestamp") or "")) or None,
                           level=str(event.get("level") or "").upper() or None, source=logger or None,
                           internal=internal, fields=event)
        return LogLine(message=text)
    match = _AIRFLOW2.match(text)
    if match is None:
        return LogLine(message=text)  # a traceback's lines, a message over several lines, AIRFLOW_CTX_ exports
    return LogLine(message=match["msg"], timestamp=iso_time(match["ts"]), level=match["level"],
                   source=match["source"], internal=match["source"] in AIRFLOW2_INTERNAL)


def _app(text: str) -> LogLine:
    match = _PYTHON_DEFAULT.match(text)
    if match is not None:
        return LogLine(message=match["msg"], level=match["level"], source=match["source"] or None)
    time = _LEADING_TIME.match(text)
    level = _LEVEL.search(text, time.end() if time else 0, (time.end() if time else 0) + 60)
    return LogLine(message=text, timestamp=iso_time(time["ts"]) if time else None,
                   level=level["level"] if level else None)


def iso_time(text: str) -> str | None:
    """A log's time as ISO 8601: ``26/12/05 08:54:22`` (log4j's yy/MM/dd), ``2026-12-05
    08:54:22,123`` (Python's asctime), ``2026-12-05T08:54:22.647+0000`` (Airflow 2).

    >>> iso_time("2026-12-05 08:54:22,123"), iso_time("2026-12-05T08:58:26.647+0000")
    ('2026-12-05T08:54:22.123', '2026-12-05T08:58:26.647+00:00')
    """
    text = text.strip()
    if not text:
        return None
    short = re.match(r"^(\d\d)/(\d\d)/(\d\d) (\d\d:\d\d:\d\d)$", text)
    if short:
        return f"20{short[1]}-{short[2]}-{short[3]}T{short[4]}"
    text = text.replace(",", ".", 1) if re.match(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d,", text) else text
    text = text[:10] + "T" + text[11:] if len(text) > 10 and text[10] == " " else text
    zone = re.search(r"([+-])(\d\d)(\d\d)$", text)
    if zone:
        text = f"{text[:zone.start()]}{zone[1]}{zone[2]}:{zone[3]}"
    return text
