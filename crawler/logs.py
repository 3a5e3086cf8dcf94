"""Readers of database server logs: PostgreSQL (stderr, csvlog, jsonlog) and MySQL/MariaDB
(general and slow query logs). Each statement becomes a record with its session, user,
database, application, time and outcome (``status``: completed, failed, rolled_back)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.formats import mysql, postgres
from crawler.formats.executions import EXECUTION
from crawler.registry import SESSION_END, Item, Read, SourceSpec, reader
from crawler.streams import head, is_compressed, settled
from parsers import Origin, ParseIssue, SourceRecord
from parsers.sql.events import DATABASE_UNKNOWN

# log_line_prefix values seen in the wild, most specific first: PostgreSQL's default, Debian's,
# the ones pgBadger's documentation recommends, and the harness's.
PREFIX_CANDIDATES = (
    "%m [%p] %q%c:%l %u@%d/%a ",
    "%m [%p] %q%u@%d/%a ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] %q%u@%d ",
    "%t [%p-%l] %q%u@%d ",
    "%m [%p] ",
    "%t [%p] ",
    "%m ",
)
_PG_TIME = rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+:-]+"
_PG_STDERR = re.compile(_PG_TIME + rb".*?(?:LOG|ERROR|WARNING|FATAL|STATEMENT|DETAIL):  ", re.MULTILINE)
_PG_CSV = re.compile(_PG_TIME + rb",", re.MULTILINE)
_MYSQL_GENERAL = re.compile(rb"Time\s+Id\s+Command\s+Argument|^\d{6}\s+\d{1,2}:\d\d:\d\d\s+\d+ (?:Connect|Query)",
                            re.MULTILINE)


def _postgres_records(spec: SourceSpec, path: Path, start: Start, entries: Iterator[postgres.Entry]) -> Iterator[Read]:
    """Each statement with its outcome, once known; a transaction open at the end of what was read
    goes on in the next crawl with the sessions' state (a rotated, compressed log is read whole:
    what it left open counts as done)."""
    sessions = postgres.Sessions.resumed(start.state)
    where = str(path)
    offset, line = start.offset, start.line
    for entry in entries:
        offset, line = entry.end, entry.end_line
        released: list[Item] = [item for statement in sessions.feed(entry)
                                for item in _with_encoding(_postgres_record(spec, where, statement))]
        if postgres.ends_session(entry):
            released.append(_session_end(where, entry))
        yield from _released(released, offset, line, sessions.state)
    drained = [item for statement in sessions.drain(final=is_compressed(path), live=not settled(path))
               for item in _with_encoding(_postgres_record(spec, where, statement))]
    yield from _released([*drained, None], offset, line, sessions.state)


def _released(items: Sequence[Item | None], offset: int, line: int,
              state: Callable[[], dict[str, Any]]) -> Sequence[Read]:
    """What one entry released: a crawl may resume after the last of it, not before. (Made at
    once, not by a generator: most entries release one statement, the session's one before.)"""
    if len(items) == 1:
        return (Read(items[0], offset, line, state),)
    last = len(items) - 1
    return [Read(item, offset, line, state if index == last else None) for index, item in enumerate(items)]


def _with_encoding(record: SourceRecord) -> list[Item]:
    """The record, after a warning where its statement holds bytes that were not UTF-8: servers
    log statements in the database's encoding, and the readers replace what is not UTF-8 (U+FFFD,
    which a statement hardly ever holds itself)."""
    if "\ufffd" not in record.text:
        return [record]
    return [ParseIssue(code="bad_encoding", severity="warning", origin=record.origin,
                       message="the statement holds bytes that are not UTF-8, replaced (is the server's "
                               "encoding another?); its names may be misread"), record]


def _session_end(where: str, entry: postgres.Entry) -> SourceRecord:
    return SourceRecord(source_type="postgres_log", text="", origin=Origin(path=where, line=entry.line,
                        byte_offset=entry.offset), session_id=entry.session, attributes={SESSION_END: "true"})


def _postgres_record(spec: SourceSpec, where: str, statement: postgres.Statement) -> SourceRecord:
    entry = statement.entry
    return SourceRecord(
        source_type="postgres_log", text=statement.sql,
        origin=Origin(path=where, line=entry.line, byte_offset=entry.offset),
        timestamp=entry.timestamp, user=entry.user, database=entry.database or spec.database,
        schema=spec.schema, session_id=entry.session, application=entry.application,
        dialect=spec.dialect or "postgres", namespace=spec.namespace,
        attributes={"status": statement.status, EXECUTION: statement.execution} if statement.execution
        else {"status": statement.status},
    )


def _execution(name: str | None) -> dict[str, str]:
    """The attribute naming a record's execution alike in every log of its server: the
    record's key, and so its run, follow it (see :mod:`crawler.formats.executions`)."""
    return {EXECUTION: name} if name else {}


# Read when no prefix reads the lines' names: the time and pid, whatever comes between them and
# the severity skipped (no user, database or session id: the source's defaults apply).
PREFIX_FALLBACKS = ("%m [%p] %i", "%m %i")


def detect_prefix(path: Path) -> tuple[str, ParseIssue | None]:
    """The log_line_prefix that reads the most of a stderr log's first lines with names that can
    be names: the one read back from the lines' own fields first, then the usual ones, the most
    specific winning ties. When none does (a prefix that reads more lines leaves a database
    holding the rest of the line), the lines are read for their time and pid only, with an issue."""
    sample = [line for line in head(path, 16384).decode("utf-8", errors="replace").splitlines()
              if line and not line.startswith("\t")][:100]
    inferred = postgres.infer_prefix(sample)
    candidates = ([inferred] if inferred and inferred not in PREFIX_CANDIDATES else []) + list(PREFIX_CANDIDATES)
    best, best_score, most = postgres.DEFAULT_PREFIX, 0, 0
    for candidate in candidates:
        pattern = postgres.prefix_pattern(candidate)
        matches = [match for line in sample if (match := pattern.match(line)) is not None]
        most = max(most, len(matches))
        if len(matches) > best_score and all(postgres.plausible(match) for match in matches):
            best, best_score = candidate, len(matches)
    fallback = max(PREFIX_FALLBACKS, key=lambda p: sum(1 for line in sample if postgres.prefix_pattern(p).match(line)))
    if best_score and best_score >= sum(1 for line in sample if postgres.prefix_pattern(fallback).match(line)):
        return best, None
    if not most and not best_score:
        return best, None  # nothing reads it: not a log of lines with a prefix at all
    return fallback, ParseIssue(
        code="unknown_log_line_prefix", severity="warning", origin=Origin(path=str(path), line=1, byte_offset=0),
        snippet=sample[0][:200] if sample else None,
        message="no log_line_prefix reads this log's lines with plausible user and database names: read for "
                "their time and pid only (sessions by pid, names qualified by the source's database); give "
                "the server's prefix with --log-line-prefix or log_line_prefix in the config")


@reader("postgres_log", sniff=lambda sample: bool(_PG_STDERR.search(sample)) and not _PG_CSV.search(sample))
def read_postgres_stderr(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    prefix, issue = (spec.log_line_prefix, None) if spec.log_line_prefix else detect_prefix(path)
    if issue is not None:
        yield Read(issue, start.offset, start.line, None)
    yield from _postgres_records(spec, path, start, postgres.read_stderr(path, start, prefix, final=settled(path)))


@reader("postgres_csvlog", sniff=lambda sample: bool(_PG_CSV.search(sample)))
def read_postgres_csvlog(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _postgres_records(spec, path, start, postgres.read_csvlog(path, start))


@reader("postgres_jsonlog", sniff=lambda sample: sample.lstrip().startswith(b'{"timestamp":')
        and b'"error_severity":' in sample)
def read_postgres_jsonlog(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _postgres_records(spec, path, start, postgres.read_jsonlog(path, start))


def _mysql_records(spec: SourceSpec, path: Path, start: Start, log: mysql.GeneralLog | mysql.SlowLog,
                   source_type: str) -> Iterator[Read]:
    where = str(path)
    for query in log.read(path, start, final=settled(path)):
        if query.ended:
            yield Read(SourceRecord(source_type=source_type, text="", session_id=f"thread:{query.thread}",
                                    origin=Origin(path=where, line=query.line, byte_offset=query.offset),
                                    attributes={SESSION_END: "true"}), query.end, query.end_line, log.state)
            continue
        record = SourceRecord(
            source_type=source_type, text=query.sql,
            origin=Origin(path=where, line=query.line, byte_offset=query.offset),
            timestamp=query.timestamp, user=query.user, database=query.database or spec.database,
            session_id=f"thread:{query.thread}", dialect=spec.dialect or "mysql", namespace=spec.namespace,
            attributes={**_execution(query.execution),
                        **({DATABASE_UNKNOWN: "true"} if query.database_unknown and not spec.database else {})},
        )
        yield from _released(_with_encoding(record), query.end, query.end_line, log.state)
    yield Read(None, *log.stands, log.state)


@reader("mysql_general", sniff=lambda sample: bool(_MYSQL_GENERAL.search(sample)) and b"# User@Host:" not in sample)
def read_mysql_general(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _mysql_records(spec, path, start, mysql.GeneralLog(start.state), "mysql_general")


@reader("mysql_slow", sniff=lambda sample: b"# User@Host:" in sample or sample.startswith(b"# Time:"))
def read_mysql_slow(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    yield from _mysql_records(spec, path, start, mysql.SlowLog(start.state), "mysql_slow")
