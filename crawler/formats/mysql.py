"""MySQL and MariaDB query logs: the general query log and the slow query log.

General log: one line per command, ``Time Id Command Argument``; the time is written only when
it changes, a query's later lines follow with no prefix, and each thread's database comes from
its ``Connect ... on DB`` and ``Init DB`` lines.
(https://dev.mysql.com/doc/refman/8.0/en/query-log.html,
https://mariadb.com/kb/en/general-query-log/)

Slow log: entries of ``#`` header lines (``# Time:`` only when it changes, ``# User@Host:``,
``# Thread_id: N Schema: DB`` on MariaDB) then ``SET timestamp=N;`` and the statement. Its
``use db;`` lines appear only when the database differs from the file's previous entry, so the
database is taken from ``Schema:`` where the server writes it.
(https://dev.mysql.com/doc/refman/8.0/en/slow-query-log.html, https://mariadb.com/kb/en/slow-query-log-overview/)
Neither log marks failed statements: every statement counts as completed. What both write only
when it changes (a thread's database, the time) goes from one crawl to the next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cursors import Start
from crawler.formats.executions import Executions
from crawler.streams import lines_from
from crawler.timestamps import normalize


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    offset: int
    end: int
    line: int
    end_line: int
    thread: str
    sql: str
    timestamp: str | None = None
    user: str | None = None
    database: str | None = None
    # Its thread began before the log (no Connect or Init DB seen): its database is not known.
    database_unknown: bool = False
    ended: bool = False  # not a statement: the thread's session ended (Quit, or its id reused)
    execution: str | None = None  # its name in every log of the server (crawler.formats.executions)


_GENERAL = re.compile(
    r"^(?P<time>\d{6}\s+\d{1,2}:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)?\s+(?P<thread>\d+)\s"
    r"(?P<command>Connect|Quit|Init DB|Query|Prepare|Execute|Close stmt|Reset stmt|Field List|Statistics|"
    r"Change user|Binlog Dump|Ping|Kill|Long Data|Set option|Fetch|Refresh|Shutdown|Processlist|Sleep)\t?"
    r"(?P<argument>.*)$")
_CONNECT = re.compile(r"^(?P<user>[^@\s]*)@\S*\s+on\s+(?P<database>\S*)")
# SQL-level prepared statements are logged twice: as the Query and as its Execute with values.
_PREPARED_SQL = re.compile(r"^\s*(?:execute|prepare|deallocate\s+prepare|drop\s+prepare)\b", re.IGNORECASE)
_HEADER = re.compile(r"^(?:\S+, Version: .* started with:|Tcp port: .*|Time\s+Id\s+Command\s+Argument)$")


def mysql_time(text: str) -> str | None:
    """``261126 13:23:22`` (YYMMDD, MariaDB and MySQL 5) or ISO 8601 (MySQL 8) in canonical form."""
    text = text.strip()
    if re.match(r"^\d{6}\s", text):
        day, _, clock = text.partition(" ")  # (a damaged line may hold more than the two parts)
        try:
            return normalize(dt.datetime.strptime(f"{day} {clock}", "%y%m%d %H:%M:%S").isoformat())
        except ValueError:
            return None
    return normalize(text)


@dataclasses.dataclass(slots=True)
class _Thread:
    user: str | None = None
    database: str | None = None
    known: bool = True  # False for a thread already connected when the log began


class GeneralLog:
    """A general query log, read from where an earlier read stopped: each thread's user and
    database, and the time, are written only when they change, so they go from one read to the
    next (``state``); ``stands`` says where the next read starts."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self._threads = {thread: _Thread(**known) for thread, known in state.get("threads", {}).items()}
        self._clock: str | None = state.get("clock")
        self._executions = Executions(state.get("executions"))
        self.stands = (0, 0)

    def state(self) -> dict[str, Any]:
        threads = {thread: dataclasses.asdict(known) for thread, known in self._threads.items()}
        carried = (("threads", threads), ("clock", self._clock), ("executions", self._executions.state()))
        return {key: value for key, value in carried if value}

    def read(self, path: Path, start: Start, *, final: bool = True) -> Iterator[Query]:
        """Queries, each with its thread's user and database. Unless ``final``, the last query is
        left for a later read: more of its lines may be coming."""
        self.stands = (start.offset, start.line)
        current: dict[str, object] | None = None
        for raw, offset, number in lines_from(path, start):
            self.stands = (offset + len(raw), number)
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            match = _GENERAL.match(text)
            if match is None:
                if current is not None and not _HEADER.match(text):
                    current["sql"] = f"{current['sql']}\n{text}"
                    current["end"], current["end_line"] = offset + len(raw), number
                continue
            if current is not None:
                yield self._query(current)
                current = None
            if match["time"]:
                self._clock = mysql_time(match["time"])
            current = _command(self._threads, match, self._clock, offset, offset + len(raw), number)
            if match["command"] in ("Connect", "Quit"):
                self._executions.end(match["thread"])
        if current is not None and final:
            yield self._query(current)
        elif current is not None:
            self.stands = (int(str(current["offset"])), int(str(current["line"])) - 1)

    def _query(self, fields: dict[str, object]) -> Query:
        """The query, named once whole (its later lines read)."""
        query = Query(**fields)  # type: ignore[arg-type]
        if query.ended:
            return query
        return dataclasses.replace(query, execution=self._executions.name("mysql", query.thread, query.timestamp,
                                                                          query.sql))


def _command(threads: dict[str, _Thread], match: re.Match[str], clock: str | None, offset: int, end: int,
             number: int) -> dict[str, object] | None:
    command, argument = match["command"], match["argument"]
    thread = threads.setdefault(match["thread"], _Thread(known=command == "Connect"))
    ended = {"offset": offset, "end": end, "line": number, "end_line": number, "thread": match["thread"], "sql": "",
             "ended": True}
    if command == "Connect":  # a new connection: whatever an earlier one of this id had is gone
        connected = _CONNECT.match(argument)
        if connected:
            thread.user, thread.database = connected["user"] or None, connected["database"] or None
            thread.known = True
        return ended
    if command == "Init DB":
        thread.database, thread.known = argument.strip() or None, True
        return None
    if command == "Quit":
        threads.pop(match["thread"], None)
        return ended
    if command == "Execute" or (command == "Query" and not _PREPARED_SQL.match(argument)):
        return {"offset": offset, "end": end, "line": number, "end_line": number, "thread": match["thread"],
                "sql": argument, "timestamp": clock, "user": thread.user, "database": thread.database,
                "database_unknown": not thread.known}
    return None


# MySQL 8 puts the connection id on this line (`... Id: 8`); MariaDB on `# Thread_id:`.
_SLOW_USER = re.compile(r"^# User@Host: (?P<user>[^\[\s]*)\[.*?(?:\bId:\s*(?P<thread>\d+))?\s*$")
_SLOW_SCHEMA = re.compile(r"^# Thread_id: (?P<thread>\d+)\s+Schema: (?P<schema>\S*)")
_SLOW_TIME = re.compile(r"^# Time: (?P<time>.+)$")
_SET_TIMESTAMP = re.compile(r"^SET timestamp=(?P<epoch>\d+);$")
_USE = re.compile(r"^use `?(?P<database>[^`;]+)`?;$", re.IGNORECASE)


class SlowLog:
    """A slow query log, read from where an earlier read stopped: the database of ``use db;`` and
    the time of ``# Time:`` are written only when they change, so they go from one read to the
    next (``state``); ``stands`` says where the next read starts."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self._database: str | None = state.get("database")
        self._entry: dict[str, object] = {"timestamp": state["timestamp"]} if state.get("timestamp") else {}
        self._executions = Executions(state.get("executions"))
        self.stands = (0, 0)

    def state(self) -> dict[str, Any]:
        carried = (("database", self._database), ("timestamp", self._entry.get("timestamp")),
                   ("executions", self._executions.state()))
        return {key: value for key, value in carried if value}

    def read(self, path: Path, start: Start, *, final: bool = True) -> Iterator[Query]:
        """Queries, each with its user, database and time. Unless ``final``, the last query is left
        for a later read: more of its lines may be coming."""
        self.stands = (start.offset, start.line)
        lines: list[str] = []
        for raw, offset, number in lines_from(path, start):
            self.stands = (offset + len(raw), number)
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if (text.startswith("# User@Host:") or text.startswith("# Time:")) and lines:
                yield self._named(_slow_query(self._entry, lines, self._database))
                lines = []
                self._entry = {k: v for k, v in self._entry.items() if k == "timestamp"}
            if self._line(text, offset, raw, number):
                lines.append(text)
        if lines and final:
            yield self._named(_slow_query(self._entry, lines, self._database))
        elif "offset" in self._entry:  # an entry begun: read it again whole
            self.stands = (int(str(self._entry["offset"])), int(str(self._entry["line"])) - 1)

    def _named(self, query: Query) -> Query:
        thread = query.thread if query.thread != "?" else None
        return dataclasses.replace(query, execution=self._executions.name("mysql", thread, query.timestamp, query.sql))

    def _line(self, text: str, offset: int, raw: bytes, number: int) -> bool:
        """Take in a line; whether it is one of the statement's."""
        entry = self._entry
        if text.startswith("# User@Host:") or text.startswith("# Time:"):
            entry.setdefault("offset", offset)
            entry.setdefault("line", number)
        if (match := _SLOW_USER.match(text)) is not None:
            entry["user"] = match["user"] or None
            if match["thread"]:
                entry["thread"] = match["thread"]
        elif (match := _SLOW_SCHEMA.match(text)) is not None:
            entry["thread"], entry["schema"] = match["thread"], match["schema"] or None
        elif (match := _SLOW_TIME.match(text)) is not None:
            entry["timestamp"] = mysql_time(match["time"])
        elif (match := _SET_TIMESTAMP.match(text)) is not None:
            entry["timestamp"] = normalize(int(match["epoch"]))
        elif (match := _USE.match(text)) is not None:
            self._database = match["database"]
        elif not (text.startswith("#") or _HEADER.match(text) or not text.strip()):
            entry["end"], entry["end_line"] = offset + len(raw), number
            entry.setdefault("offset", offset)
            entry.setdefault("line", number)
            return True
        return False


def _slow_query(entry: dict[str, object], lines: list[str], database: str | None) -> Query:
    def text(key: str) -> str | None:
        value = entry.get(key)
        return str(value) if value else None

    return Query(offset=int(str(entry["offset"])), end=int(str(entry["end"])), line=int(str(entry["line"])),
                 end_line=int(str(entry["end_line"])), thread=text("thread") or "?", sql="\n".join(lines),
                 timestamp=text("timestamp"), user=text("user"), database=text("schema") or database)
