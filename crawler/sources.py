"""Readers of raw sources: each turns a file into SourceRecords (or ParseIssues for what it
cannot read), remembering where every record came from. Registered by source type.
"""

from __future__ import annotations

import dataclasses
import glob
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.errors import ConfigError, SourceNotFoundError
from crawler.timestamps import from_epoch, normalize
from parsers import Origin, ParseIssue, SourceRecord

Item = SourceRecord | ParseIssue


@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    """An item and where reading stands after it (byte offset, lines), for the cursor."""

    item: Item
    offset: int
    line: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldMap:
    """Where a trace keeps each field; dotted paths reach into nested objects."""

    query: str = "query"
    timestamp: str = "timestamp"
    user: str = "user"
    database: str = "database"
    schema: str = "schema"
    session_id: str = "session_id"
    application: str = "application"
    dialect: str = "dialect"
    namespace: str = "namespace"

    @classmethod
    def of(cls, mapping: Mapping[str, str] | None) -> FieldMap:
        mapping = dict(mapping or {})
        unknown = set(mapping) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown trace field(s) {', '.join(sorted(unknown))}")
        return cls(**mapping)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """One thing to crawl: a path (file, directory or glob) and how to read what is there."""

    path: str
    type: str | None = None
    dialect: str | None = None
    namespace: str | None = None
    database: str | None = None
    schema: str | None = None
    fields: FieldMap = FieldMap()


Reader = Callable[[SourceSpec, Path, Start], Iterator[Read]]
_READERS: dict[str, Reader] = {}
_BY_SUFFIX: dict[str, str] = {}
_REWRITTEN: set[str] = set()  # source types whose files are edited, not appended to (scripts)


def reader(source_type: str, *suffixes: str, appended: bool = True) -> Callable[[Reader], Reader]:
    """Register a reader for a source type and the file suffixes it claims in directories."""

    def add(function: Reader) -> Reader:
        _READERS[source_type] = function
        for suffix in suffixes:
            _BY_SUFFIX[suffix] = source_type
        if not appended:
            _REWRITTEN.add(source_type)
        return function

    return add


def is_appended(source_type: str) -> bool:
    """Whether files of this type only grow (logs), so a rewrite is worth reporting."""
    return source_type not in _REWRITTEN


def source_types() -> list[str]:
    return sorted(_READERS)


def discover(spec: SourceSpec) -> list[tuple[Path, str]]:
    """The files a spec names, each with the source type that reads it, in a stable order."""
    if spec.type is not None and spec.type not in _READERS:
        raise ConfigError(f"unknown source type {spec.type!r} (known: {', '.join(source_types())})")
    root = Path(spec.path)
    if root.is_file():
        candidates = [root]
    elif root.is_dir():
        candidates = sorted(p for p in root.rglob("*") if p.is_file())
    else:
        candidates = sorted(Path(p) for p in glob.glob(spec.path, recursive=True) if Path(p).is_file())
        if not candidates:
            raise SourceNotFoundError(f"no such file or directory: {spec.path}")
    found = []
    for path in (candidate.resolve() for candidate in candidates):
        source_type = spec.type or _BY_SUFFIX.get(path.suffix.lower())
        if source_type is None and root.is_file():
            raise ConfigError(f"cannot tell what kind of source {path} is; give its type")
        if source_type is not None:
            found.append((path, source_type))
    return found


def read(spec: SourceSpec, path: Path, source_type: str, start: Start | None = None) -> Iterator[Read]:
    """What is in ``path`` from ``start`` on (the whole file by default)."""
    return _READERS[source_type](spec, path, start or Start())


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
    """A file of SQL statements (what was added since ``start``): one record; the parser
    splits it and keeps each statement's offset."""
    with path.open("rb") as stream:
        stream.seek(start.offset)
        data = stream.read()
    if not data.strip():
        return
    end, lines = start.offset + len(data), start.line + data.count(b"\n")
    text, issue = _decode(data, path, start.offset, None)
    if issue is not None:
        yield Read(issue, end, lines)
    yield Read(SourceRecord(
        source_type="sql_file",
        text=text,
        origin=Origin(path=str(path), line=start.line + 1, byte_offset=start.offset),
        timestamp=from_epoch(path.stat().st_mtime),
        dialect=spec.dialect,
        namespace=spec.namespace,
        database=spec.database,
        schema=spec.schema,
    ), end, lines)


def lines_from(path: Path, start: Start) -> Iterator[tuple[bytes, int, int]]:
    """Complete lines from ``start`` on, each with its byte offset and line number. A last
    line without its newline is left for a later crawl: the writer may still be on it."""
    offset, number = start.offset, start.line
    with path.open("rb") as stream:
        stream.seek(offset)
        for raw in stream:
            if not raw.endswith(b"\n"):
                return
            number += 1
            yield raw, offset, number
            offset += len(raw)


@reader("sql_trace", ".jsonl", ".ndjson")
def read_jsonl_trace(spec: SourceSpec, path: Path, start: Start) -> Iterator[Read]:
    """A JSON-lines query trace: one object per line with the query and its context."""
    where = str(path)
    for raw, offset, number in lines_from(path, start):
        if raw.strip():
            for item in _trace_line(spec, raw, where, number, offset):
                yield Read(item, offset + len(raw), number)


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
    query = _field(obj, spec.fields.query)
    if not isinstance(query, str) or not query.strip():
        yield _bad_line("missing_query", f"no query text in field {spec.fields.query!r}", origin)
        return
    yield _trace_record(spec, obj, query, origin)


def _trace_record(spec: SourceSpec, obj: Mapping[str, Any], query: str, origin: Origin) -> Item:
    fields = spec.fields

    def text(name: str) -> str | None:
        value = _field(obj, name)
        return None if value is None or value == "" else str(value)

    raw_time = _field(obj, fields.timestamp)
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


def _field(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _bad_line(code: str, message: str, origin: Origin) -> ParseIssue:
    # No snippet: an unreadable line cannot be redacted, and the origin finds it in the log.
    return ParseIssue(code=code, message=message, origin=origin)
