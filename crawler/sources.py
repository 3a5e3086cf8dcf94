"""Readers of SQL files and JSON-lines query traces: each turns a file into SourceRecords (or
ParseIssues for what it cannot read), remembering where every record came from.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.registry import Item, Read, SourceSpec, field_at, reader
from crawler.streams import Unreadable, lines_from, open_stream, rows_from, skip
from crawler.timestamps import normalize
from parsers import Origin, ParseIssue, SourceRecord
from parsers.sql.events import MAX_SQL_CHARS


def _decode(data: bytes, path: Path, offset: int, line: int | None) -> tuple[str, ParseIssue | None]:
    """Text of ``data``; bytes that are not UTF-8 become U+FFFD, and say so in an issue."""
    try:
        return data.decode("utf-8-sig" if offset == 0 else "utf-8"), None
    except UnicodeDecodeError as error:
        issue = ParseIssue(
            code="bad_encoding",
            severity="warning",
            message=f"not UTF-8 at byte {offset + error.start}: {error.reason}; bad bytes replaced",
            origin=Origin(path=str(path), line=line, byte_offset=offset + error.start),
        )
        return data.decode("utf-8", errors="replace"), issue


@reader("sql_file", ".sql", appended=False)
def read_sql_file(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A file of SQL statements (what was added since ``start``): one record (a script over the
    parser's limit: a record a piece); the parser splits it and keeps each statement's offset."""
    with open_stream(path) as stream:
        skip(stream, start.offset)
        data = stream.read()
    if not data.strip():
        return
    # A script says nothing of when it ran: its statements take the time a crawl first read the
    # file (kept in its cursor), not its mtime, which every fresh checkout sets to now.
    first_read = str(start.state.get("first_read") or _now())
    state = {"first_read": first_read}
    offset, line = start.offset, start.line
    for piece in _pieces(data):
        end, lines = offset + len(piece), line + piece.count(b"\n")
        text, issue = _decode(piece, path, offset, None)
        if issue is not None:
            yield Read(issue, end, lines)
        yield Read(SourceRecord(
            source_type="sql_file",
            text=text,
            origin=Origin(path=str(path), line=line + 1, byte_offset=offset),
            timestamp=first_read,
            dialect=spec.dialect,
            namespace=spec.namespace,
            database=spec.database,
            schema=spec.schema,
            # The script is one session: what its earlier part set (search_path, USE, temporary
            # tables) holds for its later parts and the part appended since (the cursor's state).
            session_id=f"script:{path}",
            attributes={CLOCK: "first_read"},
        ), end, lines, lambda: state)
        offset, line = end, lines


# In a record's attributes: where its time came from when the source gave none.
CLOCK = "clock"


def _now() -> str:
    return normalize(dt.datetime.now(dt.UTC).isoformat()) or ""


# A script too long to parse as one text (the parser's limit) is parsed in pieces of about this
# many bytes, cut after a statement that ends a line (`;` then a newline) outside quotes, dollar
# quotes and comments, so that one huge statement or a generated 70,000-statement file costs no
# more than the statements over the limit. (A T-SQL or MySQL routine body without dollar quotes
# holds such ends too: a cut there makes that routine unparseable, reported as such.)
SCRIPT_PIECE = 1_000_000
_CUT = re.compile(rb"'[^']*(?:''[^']*)*'|\$(\w*)\$.*?\$\1\$|--[^\n]*|/\*.*?\*/|(;[ \t\r]*\n)", re.DOTALL)


def _pieces(data: bytes) -> list[bytes]:
    if len(data) <= MAX_SQL_CHARS:
        return [data]
    pieces, start = [], 0
    while len(data) - start > SCRIPT_PIECE:
        cut = None
        for match in _CUT.finditer(data, start):
            if match.group(2) is None:
                continue  # a quoted or commented stretch: no statement ends in it
            if match.end() > start + SCRIPT_PIECE and cut is not None:
                break
            cut = match.end()
        if cut is None:
            break  # no statement end after this point: the rest is one piece
        pieces.append(data[start:cut])
        start = cut
    return [*pieces, data[start:]] if start < len(data) else pieces


@reader("sql_trace", ".jsonl", ".ndjson")
def read_jsonl_trace(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A JSON-lines query trace: one object per line with the query and its context."""
    where = str(path)
    for raw, offset, number in lines_from(path, start):
        if raw.strip():
            for item in _trace_line(spec, raw, where, number, offset):
                yield Read(item, offset + len(raw), number)


@reader("sql_trace_csv", ".csv")
def read_csv_trace(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A CSV query trace with a header row; columns found through the spec's field mapping."""
    where = str(path)
    for row, offset, end, number in rows_from(path, start):
        origin = Origin(path=where, line=number, byte_offset=offset)
        if isinstance(row, Unreadable):
            yield Read(_bad_line("bad_csv", row.reason, origin), end, number)
            continue
        query = field_at(row or {}, spec.fields.query)
        if not isinstance(query, str) or not query.strip():
            problem = _bad_line("missing_query", f"no query text in column {spec.fields.query!r}", origin)
            yield Read(problem, end, number)
            continue
        yield Read(_trace_record(spec, row or {}, query, origin), end, number)


def _trace_line(spec: SourceSpec, raw: bytes, where: str, number: int, start: int) -> Iterator[Item]:
    origin = Origin(path=where, line=number, byte_offset=start)
    text, issue = _decode(raw, Path(where), start, number)
    if issue is not None:
        yield issue
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        yield _bad_line("bad_json", f"not JSON: {error}", origin)
        return
    if not isinstance(obj, dict):
        yield _bad_line("bad_json", "a trace line must be a JSON object", origin)
        return
    query = field_at(obj, spec.fields.query)
    if not isinstance(query, str) or not query.strip():
        yield _bad_line("missing_query", f"no query text in field {spec.fields.query!r}", origin)
        return
    yield _trace_record(spec, obj, query, origin)


def _trace_record(spec: SourceSpec, obj: Mapping[str, Any], query: str, origin: Origin) -> Item:
    fields = spec.fields

    def text(name: str) -> str | None:
        value = field_at(obj, name)
        return None if value is None or value == "" else str(value)

    raw_time = field_at(obj, fields.timestamp)
    return SourceRecord(
        source_type="sql_trace",
        text=query,
        origin=origin,
        timestamp=normalize(raw_time),
        user=text(fields.user),
        database=text(fields.database) or spec.database,
        schema=text(fields.schema) or spec.schema,
        session_id=text(fields.session_id),
        application=text(fields.application),
        dialect=text(fields.dialect) or spec.dialect,
        namespace=text(fields.namespace) or spec.namespace,
    )


def _bad_line(code: str, message: str, origin: Origin) -> ParseIssue:
    # No snippet: an unreadable line cannot be redacted, and the origin finds it in the log.
    return ParseIssue(code=code, message=message, origin=origin)
