"""A job-log record (one Airflow task try, one Spark driver's log, a stretch of an application's
log) as one lineage event: the task or application is the job, the try its run, what the rules
find in its lines its inputs and outputs, and the code it ran its run's facets.

Steps: lines (:mod:`parsers.joblogs.lines`) -> matches of the rules (:mod:`parsers.joblogs.rules`)
-> datasets (paths, URIs, tables, SQL through the SQL engine) and facts -> identity -> event.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parsers import naming
from parsers.fingerprint import digest
from parsers.joblogs import rules
from parsers.joblogs.lines import LogLine, parse_line
from parsers.joblogs.rules import Match, Rule
from parsers.model import (
    DatasetRef,
    Evidence,
    JobRef,
    LineageEvent,
    Origin,
    ParseIssue,
    ParseResult,
    RunRef,
    SourceRecord,
)
from parsers.naming import NameContext
from parsers.redact import redact_text
from parsers.spark import names
from parsers.sql.events import parse_sql_record

EVIDENCE_LINES = 5
EVIDENCE_CHARS = 600
# Rules read this much of a message at most: a log line is not a document.
MESSAGE_CHARS = 65_536
# Regex matches on free text are good guesses; a format's own phrases and a user's rules are not.
GUESS_CONFIDENCE = 0.7
# Directories that are a writer's scratch space, never the dataset (a committer's _temporary).
_SCRATCH = re.compile(r"/(?:_temporary|\.spark-staging[^/]*|_spark_metadata|\.hive-staging[^/]*)(?:/|$)")
_APP_ID = re.compile(r"\b(local-\d{10,}|application_\d+_\d+|app-\d{14}-\d{4}|spark-application-\d+)\b")
_FORMAT_RULES = {"spark_driver": rules.SPARK_DRIVER, "airflow": rules.AIRFLOW}
# Free-text rules, not run for datasets on a scheduler's or engine's own lines.
_GENERIC = frozenset(rules.COMMON)
_JDBC_SCHEMES = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlserver": "sqlserver",
                 "oracle": "oracle", "redshift": "redshift", "db2": "db2", "snowflake": "snowflake"}
_JDBC_DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlserver": "tsql",
                  "oracle": "oracle", "redshift": "redshift", "snowflake": "snowflake"}


@dataclasses.dataclass(slots=True)
class _Found:
    """What the lines of one record said: datasets each way, facts, evidence."""

    record: SourceRecord
    log_format: str
    inputs: dict[DatasetRef, None] = dataclasses.field(default_factory=dict)
    outputs: dict[DatasetRef, None] = dataclasses.field(default_factory=dict)
    facets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    evidence: list[tuple[Origin, str | None, str]] = dataclasses.field(default_factory=list)
    issues: list[ParseIssue] = dataclasses.field(default_factory=list)
    confidence: float = 1.0
    started_at: str | None = None

    def add(self, ref: DatasetRef, direction: str, origin: Origin, line: LogLine, text: str) -> None:
        (self.outputs if direction == "write" else self.inputs).setdefault(ref)
        if len(self.evidence) < EVIDENCE_LINES and all(seen[0] != origin and seen[2] != text for seen in self.evidence):
            self.evidence.append((origin, line.timestamp, text))


def parse_joblog_record(record: SourceRecord) -> ParseResult:
    """The lineage of one job-log record (built by the crawler's job-log readers).

    >>> from parsers.model import Origin, SourceRecord
    >>> text = json.dumps({"format": "app", "lines": [[1, 0, "INFO:etl:wrote s3://lake/orders/dt=2026-11-20/"]],
    ...                    "context": {"job": "etl"}})
    >>> event = parse_joblog_record(SourceRecord(source_type="app_log", text=text, origin=Origin(path="/l"))).events[0]
    >>> event.job.name, [(ref.namespace, ref.name) for ref in event.outputs]
    ('app:etl', [('s3://lake', 'orders/{dt}')])
    """
    try:
        bundle = json.loads(record.text)
        log_format = str(bundle["format"])
        lines = [(int(number), int(offset), str(text)) for number, offset, text in bundle.get("lines") or []]
        user = rules.user_rules(tuple(tuple(sorted(rule.items())) for rule in bundle.get("rules") or []))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return ParseResult(record_key=record.key(), issues=(ParseIssue(
            code="bad_record", origin=record.origin, message=f"not a job-log record: {error!r}"),))
    found = _Found(record=record, log_format=log_format)
    _read_lines(found, lines, (*user, *_FORMAT_RULES.get(log_format, ()), *rules.COMMON))
    event = _event(found, bundle.get("context") or {}, lines)
    return ParseResult(record_key=record.key(), events=(event,) if event else (), issues=tuple(found.issues))


def _read_lines(found: _Found, lines: Sequence[tuple[int, int, str]], ruleset: Sequence[Rule]) -> None:
    for number, offset, text in lines:
        line = parse_line(found.log_format, text)
        found.started_at = found.started_at or line.timestamp
        origin = Origin(path=found.record.origin.path, line=number, byte_offset=offset)
        _fields(found, line)
        for rule in ruleset:
            for match in rule.find(line.message[:MESSAGE_CHARS]):
                if match.facts:
                    _facts(found, match.facts)
                elif not line.internal or rule not in _GENERIC:
                    _take(found, rule, match, origin, line)


def _take(found: _Found, rule: Rule, match: Match, origin: Origin, line: LogLine) -> None:
    if match.sql is not None:
        _sql(found, match.sql, origin, line)
        return
    ref = _dataset(found, match)
    if ref is None or match.direction is None:
        return
    if rule in _GENERIC:
        found.confidence = min(found.confidence, GUESS_CONFIDENCE)
    found.add(ref, match.direction, origin, line, redact_text(line.message)[:300])


def _dataset(found: _Found, match: Match) -> DatasetRef | None:
    """The dataset a match names: a table (on the JDBC URL's server, or the source's), or a path
    (a managed table's, if it lies in the Spark warehouse)."""
    text = (match.dataset or "").rstrip(".:'\"")
    if not text:
        return None
    if match.is_table:
        return _table(found, text.strip('`"[]'), match.jdbc)
    if _SCRATCH.search(text):
        return None
    warehouse = found.facts.get("warehouse")
    table = names.warehouse_table(text, warehouse) if warehouse else None
    if table is not None:
        return names.table_ref(table, found.record.namespace or "spark://default")
    if "://" not in text and not text.startswith(("/", "file:")):
        return None
    return names.path_ref(text)


def _table(found: _Found, name: str, jdbc: str | None) -> DatasetRef | None:
    record = found.record
    namespace, database, dialect = record.namespace, record.database, record.dialect
    if jdbc:
        namespace, database, dialect = _jdbc_server(jdbc) or (namespace, database, dialect)
    context = NameContext.of(dialect, namespace=namespace, database=database, schema=record.schema)
    try:
        return naming.table_ref(naming.parse_table(name, context), context)
    except Exception:  # noqa: BLE001 - sqlglot's errors for a name it cannot read: not a table
        return None


def _jdbc_server(url: str) -> tuple[str, str | None, str | None] | None:
    """``jdbc:postgresql://db:5432/credit`` -> (``postgres://db:5432``, ``credit``, ``postgres``).

    >>> _jdbc_server("jdbc:postgresql://user:pw@warehouse.bank.internal:5432/credit?ssl=true")
    ('postgres://warehouse.bank.internal:5432', 'credit', 'postgres')
    """
    match = re.match(r"^jdbc:(?P<engine>[a-z0-9]+)(?::[a-z]+)?:(?://|@)(?:[^@/]*@)?(?P<host>[^/;:?]+)"
                     r"(?::(?P<port>\d+))?(?:[/:](?P<db>[\w$-]+))?(?:;.*?databaseName=(?P<db2>[\w$-]+))?", url)
    if match is None:
        return None
    engine = match["engine"]
    port = f":{match['port']}" if match["port"] else ""
    return (f"{_JDBC_SCHEMES.get(engine, engine)}://{match['host']}{port}", match["db"] or match["db2"],
            _JDBC_DIALECTS.get(engine))


def _sql(found: _Found, sql: str, origin: Origin, line: LogLine) -> None:
    """SQL a line shows the job running: its tables, through the SQL engine, join the run's."""
    record = found.record
    statement = SourceRecord(source_type="sql_trace", text=sql, origin=origin, dialect=record.dialect,
                             namespace=record.namespace, database=record.database, schema=record.schema)
    for event in parse_sql_record(statement).events:
        for ref in event.inputs:
            found.add(ref, "read", origin, line, event.evidence.sql or "")
        for ref in event.outputs:
            found.add(ref, "write", origin, line, event.evidence.sql or "")
        for name, facets in event.dataset_facets.items():
            found.facets.setdefault(name, {}).update(facets)


def _facts(found: _Found, facts: Iterable[tuple[str, str]]) -> None:
    """Facts about the run, the first of each kind winning; packages by name."""
    values = dict(facts)
    if "package" in values and "version" in values:
        found.facts.setdefault("packages", {}).setdefault(values["package"].lower(), values["version"])
        return
    for key, value in values.items():
        found.facts.setdefault(key, redact_text(value))


def _fields(found: _Found, line: LogLine) -> None:
    """What Airflow 3's structured lines carry: the DAG file and the bundle's version."""
    if not line.fields:
        return
    for field, fact in (("dag_file", "dag_file"), ("bundle_version", "code_version")):
        value = line.fields.get(field)
        if isinstance(value, str) and value:
            found.facts.setdefault(fact, value)
    for field in ("dag_id", "task_id", "run_id", "try_number", "map_index"):
        if field in line.fields and line.fields[field] is not None:
            found.facts.setdefault(f"_{field}", line.fields[field])


def _event(found: _Found, context: Mapping[str, Any], lines: Sequence[tuple[int, int, str]]) -> LineageEvent | None:
    if not (found.inputs or found.outputs):
        return None
    job, title, run_id, facets = _identity(found, context, lines)
    origin, timestamp, _ = found.evidence[0]
    text = "\n".join(line for _, _, line in found.evidence)[:EVIDENCE_CHARS]
    record = found.record
    return LineageEvent(
        job=job,
        job_title=title,
        statement_kind="JOB LOG",
        inputs=tuple(ref for ref in found.inputs if ref not in found.outputs),
        outputs=tuple(found.outputs),
        dataset_facets=found.facets,
        confidence=found.confidence,
        run=RunRef(run_id=run_id, started_at=record.timestamp or found.started_at, user=record.user,
                   facets=facets),
        evidence=Evidence(source_type=record.source_type, origin=origin, timestamp=record.timestamp or timestamp,
                          sql=text),
    )


def _identity(found: _Found, context: Mapping[str, Any],
              lines: Sequence[tuple[int, int, str]]) -> tuple[JobRef, str, str, dict[str, Any]]:
    """The job, its title, the run's id and the run's facets."""
    facts = {key: value for key, value in found.facts.items() if not key.startswith("_") and key != "warehouse"}
    if found.log_format == "airflow":
        dag = context.get("dag_id") or found.facts.get("_dag_id") or "unknown_dag"
        task = context.get("task_id") or found.facts.get("_task_id") or "unknown_task"
        dag_run = context.get("run_id") or found.facts.get("_run_id") or "unknown_run"
        attempt = context.get("try_number") or found.facts.get("_try_number") or "0"
        mapped = context.get("map_index") or found.facts.get("_map_index")
        task_key = f"{task}[{mapped}]" if mapped not in (None, "", -1, "-1") else task
        facts.update(dag_id=dag, task_id=task, airflow_run_id=dag_run, try_number=int(attempt))
        return (JobRef(namespace="airflow", name=f"{dag}.{task}"), f"AIRFLOW {dag}.{task}",
                f"airflow:{dag}/{task_key}/{dag_run}/{attempt}", facts)
    if found.log_format == "spark_driver":
        app = str(found.facts.get("spark_app") or context.get("job") or "unknown")
        facts.pop("spark_app", None)
        app_id = next((m[1] for _, _, text in lines[:200] if (m := _APP_ID.search(text))), None)
        run = app_id or digest(f"{found.record.origin.path}\0{lines[0][2] if lines else ''}")[:16]
        namespace = found.record.namespace or "spark://default"
        return JobRef(namespace=namespace, name=f"spark:{app}"), f"SPARK {app}", f"spark-driver:{run}", facts
    name = str(context.get("job") or "app")
    start = lines[0][1] if lines else 0
    return (JobRef(namespace="app", name=f"app:{name}"), f"APP {name}",
            f"applog:{found.record.origin.path}:{start}", facts)
