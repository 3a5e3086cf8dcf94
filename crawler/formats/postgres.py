"""PostgreSQL server logs (13 to 17) in all three destinations: stderr (with any
``log_line_prefix``), csvlog and jsonlog.

Each is read into the same entries (time, session, user, database, application, severity,
message, detail, statement), and one state machine turns a session's entries into the
statements it ran, each with its outcome: an ``ERROR`` after a statement means it failed, a
``ROLLBACK`` (or a ``COMMIT`` of a failed transaction, or the session's end before its
``COMMIT``) undoes the statements of its transaction. Its state goes from one crawl to the next,
so a transaction open when one crawl stops ends in the next. References:
https://www.postgresql.org/docs/current/runtime-config-logging.html
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.formats.executions import Executions
from crawler.streams import lines_from
from crawler.timestamps import normalize
from parsers.frozen import quick_init

DEFAULT_PREFIX = "%m [%p] "  # PostgreSQL's default log_line_prefix


@quick_init
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One log entry, whatever the destination; ``offset``/``end`` are its bytes in the file."""

    offset: int
    end: int
    line: int
    end_line: int
    severity: str
    message: str
    timestamp: str | None = None
    session: str | None = None
    user: str | None = None
    database: str | None = None
    application: str | None = None
    detail: str | None = None
    statement: str | None = None
    process: str | None = None  # the server process (pid) that logged it


# -- stderr --------------------------------------------------------------------------------------

_ESCAPES = {
    "m": r"(?P<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z0-9+:-]+)?)",
    "t": r"(?P<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Za-z0-9+:-]+)?)",
    "n": r"(?P<timestamp>\d+(?:\.\d+)?)",
    "u": r"(?P<user>.*?)", "d": r"(?P<database>.*?)", "a": r"(?P<application>.*?)",
    "c": r"(?P<session>[0-9a-f]+\.[0-9a-f]+)", "p": r"(?P<pid>\d+)",
    "l": r"\d+", "s": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Za-z0-9+:-]+)?", "v": r"[\d/]*", "x": r"\d*",
    "e": r"[0-9A-Z]{5}", "h": r"\S*", "r": r"\S*", "i": r".*?", "b": r".*?", "Q": r"-?\d*", "L": r"\S*",
}
_SEVERITY = (r"(?P<severity>DEBUG\d?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT|QUERY"
             r"|LOCATION):  ")


def prefix_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression for log lines written with ``log_line_prefix``.

    >>> line = "2026-11-26 13:23:10.284 UTC [22742] 6b0832be.58d6 ana@credit/psql LOG:  statement: select 1"
    >>> match = prefix_pattern("%m [%p] %c %q%u@%d/%a ").match(line)
    >>> match["session"], match["user"], match["database"], match["application"], match["message"]
    ('6b0832be.58d6', 'ana', 'credit', 'psql', 'statement: select 1')
    """
    parts: list[str] = []
    optional: int | None = None
    index = 0
    while index < len(prefix):
        char = prefix[index]
        if char == "%" and index + 1 < len(prefix):
            code = prefix[index + 1]
            index += 2
            if code == "q":  # the rest appears only for session processes
                optional = len(parts)
            elif code == "%":
                parts.append("%")
            else:
                parts.append(_ESCAPES.get(code, r".*?"))
            continue
        parts.append(re.escape(char))
        index += 1
    if optional is not None:
        parts[optional:] = [f"(?:{''.join(parts[optional:])})?"]
    return re.compile("^" + "".join(parts) + _SEVERITY + r"(?P<message>.*)$", re.DOTALL)


# What each field of a log_line_prefix looks like in a line, tried in this order at each place:
# a line's prefix read back to the escapes that wrote it. A number is the pid first, then a
# line number; ``key=value`` pairs name their escape by the key (``app=%a client=%h``).
_SHAPES = (
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?: [A-Za-z][A-Za-z0-9+:-]*| [+-]\d+)?"), "%m"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Za-z][A-Za-z0-9+:-]*| [+-]\d+)?"), "%t"),
    (re.compile(r"\d{10}\.\d{3}(?![\w.])"), "%n"),
    (re.compile(r"[0-9a-f]{1,8}\.[0-9a-f]{1,8}(?![\w.])"), "%c"),
    (re.compile(r"(?P<key>[A-Za-z_]+)=[^\s,]*"), "="),
    (re.compile(r"(?:\[unknown\]|[^\s@\[\]=,:]*)@(?:\[unknown\]|[^\s@\[\]=,/:]*)"
                r"(?P<app>/(?:\[unknown\]|[^\s\[\]]*))?"), "@"),
    (re.compile(r"\d+(?![\w.])"), "#"),
)
_KEYS = {"%u": ("user", "usr", "u", "username", "user_name"), "%d": ("db", "database", "dbname", "d"),
         "%a": ("app", "application", "appname", "application_name", "a"),
         "%h": ("client", "host", "remote", "h", "client_addr"), "%r": ("remote_host", "r"),
         "%c": ("session", "sid", "session_id", "c"), "%p": ("pid", "p"), "%l": ("line", "l", "line_num"),
         "%x": ("xid", "txid", "x"), "%v": ("vxid", "v"), "%Q": ("query_id", "qid", "queryid", "Q"),
         "%b": ("backend", "backend_type", "b"), "%e": ("sqlstate", "state", "e")}
_ESCAPE_OF_KEY = {key: escape for escape, keys in _KEYS.items() for key in keys}
_FIRST_SEVERITY = re.compile(_SEVERITY)


def infer_prefix(lines: list[str]) -> str | None:
    """The log_line_prefix that wrote ``lines``, read back from the shapes of their fields, or
    None when their prefixes show nothing known.

    >>> infer_prefix([
    ...     "2026-11-26 13:23:06.149 UTC [22694] LOG:  database system is ready to accept connections",
    ...     "2026-11-26 13:23:10.284 UTC [22742] etl@warehouse app=etl client=127.0.0.1 session=6b0832be.58d6 "
    ...     "LOG:  statement: select 1"])
    '%m [%p] %q%u@%d app=%a client=%h session=%c '
    """
    templates = [template for line in lines if (template := _template(line)) is not None]
    if not templates:
        return None
    richest = max(_escapes(t) for t in templates)
    whole = max(sorted({t for t in templates if _escapes(t) == richest}), key=templates.count)
    shorter = [len(t) for t in templates if len(t) < len(whole) and whole[:len(t)] == t and t]
    if shorter:
        cut = max(shorter)  # the fields written for client sessions only (%q) come after it
        whole = whole[:cut] + ("%q",) + whole[cut:]
    return "".join(whole) if any(part.startswith("%") for part in whole) else None


def _escapes(template: tuple[str, ...]) -> int:
    return sum(part.count("%") for part in template)


def _template(line: str) -> tuple[str, ...] | None:
    severity = _FIRST_SEVERITY.search(line)
    if severity is None:
        return None
    head, parts, numbers, index = line[:severity.start()], [], 0, 0
    while index < len(head):
        for shape, escape in _SHAPES:
            match = shape.match(head, index)
            if match is None or not match.group() or (index and head[index - 1].isalnum()):
                continue
            if escape == "=":
                key = match["key"]
                escape = key + "=" + _ESCAPE_OF_KEY.get(key, "%i")
            elif escape == "@":
                escape = "%u@%d" + ("/%a" if match["app"] else "")
            elif escape == "#":
                escape, numbers = ("%p" if numbers == 0 else "%l"), numbers + 1
            parts.append(escape)
            index = match.end()
            break
        else:
            parts.append(head[index].replace("%", "%%"))
            index += 1
    return tuple(parts)


def plausible(match: re.Match[str]) -> bool:
    """Whether the names a prefix read from a line can be names: a user or database holding a
    space or ``=``, an application holding ``=``, is the rest of a longer prefix swallowed."""
    fields = match.groupdict()
    return not any(value and (re.search(r"[\s=]", value) if name in ("user", "database") else "=" in value)
                   for name, value in ((k, fields.get(k)) for k in ("user", "database", "application")))


def read_stderr(path: Path, start: Start, prefix: str = DEFAULT_PREFIX, *, final: bool = True) -> Iterator[Entry]:
    """Entries of a stderr log; lines that continue a message start with a tab. Unless
    ``final``, the last entry is left for a later read: more of its lines may be coming."""
    pattern = prefix_pattern(prefix)
    current: dict[str, object] | None = None
    for raw, offset, number in lines_from(path, start):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if text.startswith("\t") and current is not None:
            current["message"] = f"{current.get('message', '')}\n{text[1:]}"
            current["end"], current["end_line"] = offset + len(raw), number
            continue
        match = pattern.match(text)
        if match is None:
            continue  # not a log line (a crash dump, a stray print): nothing to read in it
        if current is not None:
            yield _stderr_entry(current)
        current = {**{k: v for k, v in match.groupdict().items() if v}, "offset": offset, "line": number,
                   "end": offset + len(raw), "end_line": number}
    if current is not None and final:
        yield _stderr_entry(current)


def _stderr_entry(fields: dict[str, object]) -> Entry:
    def text(name: str) -> str | None:
        return str(fields[name]) if fields.get(name) else None

    return Entry(offset=int(str(fields["offset"])), end=int(str(fields["end"])), line=int(str(fields["line"])),
                 end_line=int(str(fields["end_line"])), severity=str(fields["severity"]),
                 message=str(fields.get("message", "")), timestamp=normalize(text("timestamp")),
                 session=text("session") or (f"pid:{fields['pid']}" if fields.get("pid") else None),
                 user=text("user"), database=text("database"), application=text("application"),
                 process=text("pid") or _pid_of(text("session")))


def _pid_of(session: str | None) -> str | None:
    """The pid a session id (``%c``: the session's start and its pid, in hex) names.

    >>> _pid_of("6b0832be.58d6")
    '22742'
    """
    if not session or "." not in session:
        return None
    try:
        return str(int(session.rpartition(".")[2], 16))
    except ValueError:
        return None


# -- csvlog --------------------------------------------------------------------------------------

# Columns of csvlog, PostgreSQL 13 (backend_type added) to 17 (leader_pid, query_id from 14).
_CSV_COLUMNS = ("log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
                "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
                "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
                "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
                "application_name", "backend_type", "leader_pid", "query_id")


(_AT_TIME, _AT_USER, _AT_DATABASE, _AT_SESSION, _AT_SEVERITY, _AT_MESSAGE, _AT_DETAIL, _AT_QUERY, _AT_APPLICATION,
 _AT_PID) = (_CSV_COLUMNS.index(name) for name in ("log_time", "user_name", "database_name", "session_id",
                                                   "error_severity", "message", "detail", "query",
                                                   "application_name", "process_id"))


def read_csvlog(path: Path, start: Start) -> Iterator[Entry]:
    """Entries of a csvlog; a record spans several lines when its fields hold newlines."""
    fed = [start.offset, start.line]  # where the lines read so far end: the next byte, the last line

    def feed() -> Iterator[str]:
        for raw, offset, number in lines_from(path, start):
            fed[0], fed[1] = offset + len(raw), number
            yield raw.decode("utf-8", errors="replace")

    rows = csv.reader(feed())
    while True:
        offset, line = fed[0], fed[1] + 1  # (the reader takes no line beyond the record's last)
        try:
            row = next(rows)
        except (StopIteration, csv.Error):  # the end, or a record cut short: read it next time
            return
        if len(row) < 23:
            continue
        yield Entry(offset=offset, end=fed[0], line=line, end_line=fed[1],
                    severity=row[_AT_SEVERITY], message=row[_AT_MESSAGE], timestamp=normalize(row[_AT_TIME]),
                    session=row[_AT_SESSION] or None, user=row[_AT_USER] or None,
                    database=row[_AT_DATABASE] or None, application=row[_AT_APPLICATION] or None,
                    detail=row[_AT_DETAIL] or None, statement=row[_AT_QUERY] or None, process=row[_AT_PID] or None)


# -- jsonlog -------------------------------------------------------------------------------------

def read_jsonlog(path: Path, start: Start) -> Iterator[Entry]:
    """Entries of a jsonlog (PostgreSQL 15+): one object per line, empty keys left out."""
    for raw, offset, number in lines_from(path, start):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(obj, dict) or "message" not in obj:
            continue
        text = functools.partial(_text, obj)
        yield Entry(offset=offset, end=offset + len(raw), line=number, end_line=number,
                    severity=str(obj.get("error_severity", "LOG")), message=str(obj["message"]),
                    timestamp=normalize(obj.get("timestamp")), session=text("session_id"),
                    user=text("user"), database=text("dbname"), application=text("application_name"),
                    detail=text("detail"), statement=text("statement"), process=text("pid"))


def _text(obj: dict[str, Any], key: str) -> str | None:
    """A field as text (one of a wrong type, as fuzzing writes them, too), None when empty."""
    value = obj.get(key)
    return None if value is None or value == "" else str(value)


# -- from entries to statements ------------------------------------------------------------------

_EXECUTED = re.compile(
    r"^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*?)(?: \(\w+\))?:\s(?P<sql>.*)$", re.DOTALL)
# log_duration's line of its own, after the statement log_statement logged as it started.
_DURATION = re.compile(r"^duration: [\d.]+ ms$")
# A transaction's start and end (one expression: most statements are neither, and fail it at once).
_TRANSACTION = re.compile(r"\s*(?:(?P<begin>begin|start\s+transaction)\b|(?P<commit>commit|end)\b(?!\s+prepared)"
                          r"|(?P<rollback>rollback|abort)\b(?!\s+(?:to|prepared)))", re.IGNORECASE)


# Lines that add to the entry before them (stderr writes them as entries of their own).
_NOTES = frozenset({"DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION"})


def ends_session(entry: Entry) -> bool:
    """Whether the entry is a session's end (``log_disconnections``): what it left open is over."""
    return entry.severity == "LOG" and entry.message.startswith("disconnection:")


@dataclasses.dataclass(slots=True, kw_only=True)
class Statement:
    """A statement a session ran, and how it ended: completed, failed or rolled_back;
    ``execution`` names it alike in every log of the server (see :mod:`crawler.formats.executions`)."""

    entry: Entry
    sql: str
    status: str = "completed"
    execution: str | None = None


class Sessions:
    """Follows every session of a log and releases its statements once their outcome is known.

    An error names its statement (csvlog and jsonlog in the entry, stderr in the ``STATEMENT``
    line after it); only when that is the session's last statement did the last statement fail.
    Otherwise it failed before it could be logged (a syntax or bind error)."""

    def __init__(self) -> None:
        self._last: dict[str, Statement] = {}
        self._transaction: dict[str, list[Statement]] = {}
        self._failed: set[str] = set()
        self._error: dict[str, Entry] = {}
        self._executions = Executions()

    def feed(self, entry: Entry) -> list[Statement]:
        session = entry.session or "?"
        if entry.severity in ("ERROR", "FATAL", "PANIC"):
            if entry.statement is not None:
                return self._fail(session, entry.statement, entry)
            self._error[session] = entry
            return []
        if entry.severity == "STATEMENT" and session in self._error:
            return self._fail(session, entry.message, self._error.pop(session))
        if entry.severity in _NOTES:
            return []  # about the entry before: an error's STATEMENT line may still follow
        released = self._fail(session, None, self._error.pop(session)) if session in self._error else []
        if ends_session(entry):
            self._executions.end(entry.process)
            return released + self._end(session)
        match = _EXECUTED.match(entry.message) if entry.severity == "LOG" else None
        if match is None:
            if entry.severity == "LOG" and _DURATION.match(entry.message):
                released += self._settle(session)  # the statement before it is done, and did not fail
            return released
        released += self._settle(session)
        sql = match["sql"]
        execution = self._executions.name("postgres", entry.process, entry.timestamp, sql)
        return released + self._begin_or_end(session, Statement(entry=entry, sql=sql, execution=execution))

    @classmethod
    def resumed(cls, state: Mapping[str, Any]) -> Sessions:
        """The sessions as :meth:`state` left them at the end of an earlier read."""
        sessions = cls()
        sessions._last = {session: _statement(item) for session, item in state.get("last", {}).items()}
        sessions._transaction = {session: [_statement(item) for item in work]
                                 for session, work in state.get("transactions", {}).items()}
        sessions._failed = set(state.get("failed", ()))
        sessions._error = {session: Entry(**entry) for session, entry in state.get("errors", {}).items()}
        sessions._executions = Executions(state.get("executions"))
        return sessions

    def state(self) -> dict[str, Any]:
        """What is still waiting for its outcome, as JSON: the sessions' last statements, open
        transactions (and which of them failed) and errors waiting for their statement."""
        state = {
            "last": {session: _json(statement) for session, statement in self._last.items()},
            "transactions": {session: [_json(statement) for statement in work]
                             for session, work in self._transaction.items()},
            "failed": sorted(self._failed),
            "errors": {session: dataclasses.asdict(entry) for session, entry in self._error.items()},
            "executions": self._executions.state(),
        }
        return {key: value for key, value in state.items() if value}

    def _fail(self, session: str, text: str | None, error: Entry) -> list[Statement]:
        if session in self._transaction:
            self._failed.add(session)
        last = self._last.get(session)
        if last is not None and (text is None or " ".join(last.sql.split()) == " ".join(text.split())):
            del self._last[session]
            last.status = "failed"
            return [last]
        # Logged only by its error (a syntax or bind error): named from the error, as every log shows it.
        execution = self._executions.name("postgres", error.process, error.timestamp, text) if text else None
        return [Statement(entry=error, sql=text or "", status="failed", execution=execution)]

    def _settle(self, session: str) -> list[Statement]:
        """The session's previous statement had no error: it completed (pending its transaction)."""
        last = self._last.pop(session, None)
        if last is None:
            return []
        if session in self._transaction:
            self._transaction[session].append(last)
            return []
        return [last]

    def _begin_or_end(self, session: str, statement: Statement) -> list[Statement]:
        found = _TRANSACTION.match(statement.sql)
        if found is not None and found["begin"]:
            self._transaction[session] = []
            return []
        rollback = found is not None and bool(found["rollback"])
        if found is not None and session in self._transaction:
            work = self._transaction.pop(session)
            undone = rollback or session in self._failed  # COMMIT of a failed transaction rolls back
            self._failed.discard(session)
            for item in work:
                if undone and item.status == "completed":
                    item.status = "rolled_back"
            return work
        self._last[session] = statement
        return []

    def _end(self, session: str) -> list[Statement]:
        """The session ended: its last statement completed, a transaction it left open rolled back."""
        released = self._settle(session)
        work = self._transaction.pop(session, [])
        self._failed.discard(session)
        for item in work:
            if item.status == "completed":
                item.status = "rolled_back"
        return released + work

    def drain(self, *, final: bool, live: bool = False) -> list[Statement]:
        """The end of what was read: a statement no error followed completed (pending its
        transaction). An error still waiting for its ``STATEMENT`` line (with the statement it
        may be about) and open transactions wait for the next read, unless this read is
        ``final``: then the error failed the last statement and open transactions count as done.
        In a ``live`` log (written to right now) a statement logged as it started
        (``log_statement``) may still be running, and fail: it waits too."""
        released: list[Statement] = []
        for session in list(self._error) if final else []:
            released += self._fail(session, None, self._error.pop(session))
        for session in [session for session in self._last if session not in self._error]:
            if live and not final and not self._last[session].entry.message.startswith("duration:"):
                continue
            released += self._settle(session)
        if final:
            released += [s for work in self._transaction.values() for s in work]
            self._transaction.clear()
            self._failed.clear()
        return released


def _json(statement: Statement) -> dict[str, Any]:
    data = {"entry": dataclasses.asdict(statement.entry), "sql": statement.sql, "status": statement.status}
    return {**data, "execution": statement.execution} if statement.execution else data


def _statement(data: Mapping[str, Any]) -> Statement:
    return Statement(entry=Entry(**data["entry"]), sql=data["sql"], status=data["status"],
                     execution=data.get("execution"))
