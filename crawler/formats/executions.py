"""One name per executed statement, whichever of a server's logs shows it.

A server may write the same statements to several logs at once: PostgreSQL to stderr, csvlog
and jsonlog (``log_destination = 'stderr,csvlog,jsonlog'``), MariaDB and MySQL to the general and
the slow query log. Each log says where and how it saw a statement differently (file, offset,
line, session ids with or without ``%c``), but all of them show the process (PostgreSQL's pid,
MySQL's thread id), the time to the second and the text. Those, with the count of the same text
run by the same process earlier in that second, name the execution; the record's key (and so its
run's id, see :meth:`parsers.SourceRecord.key`) follows that name, so one execution is one run
however many logs, files, crawls or worker processes read it.

The times of the logs differ in precision (milliseconds in csvlog, seconds in ``%t`` and in the
MySQL logs) and MariaDB's general log times a statement as it arrives and its slow log as it
starts: the second is what they share. A process logs in time order, so the counts of a process
are kept for its latest second only, and processes quiet for a while are forgotten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from parsers.fingerprint import digest

EXECUTION = "execution"  # the record attribute holding the name
QUIET = dt.timedelta(seconds=30)  # a process silent this long (in log time) is forgotten


class Executions:
    """Names the executions of one log, in the order it shows them; :meth:`state` goes into the
    file's cursor, so a log read in parts names them as one read does."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self._seconds: dict[str, str] = dict(state.get("seconds", {}))
        self._counts: dict[str, dict[str, int]] = {p: dict(c) for p, c in state.get("counts", {}).items()}
        self._newest: str = state.get("newest", "")

    def name(self, server: str, process: str | None, timestamp: str | None, text: str) -> str | None:
        """The execution's name (None when the log does not show its process or time: then no
        other log's record can be told to be the same execution).

        >>> names = Executions()
        >>> a = names.name("postgres", "4242", "2026-11-26T13:23:10.284Z", "select 1;")
        >>> b = names.name("postgres", "4242", "2026-11-26T13:23:10.900Z", "select 1")
        >>> a == b, a == Executions().name("postgres", "4242", "2026-11-26T13:23:10.001Z", "select 1")
        (False, True)
        """
        if not process or not timestamp:
            return None
        second = timestamp[:19]
        if self._seconds.get(process) != second:
            self._seconds[process], self._counts[process] = second, {}
            if second > self._newest:
                self._forget(second)
        # (the slow log ends a statement with ";" where the general log does not)
        key = digest(text.strip().rstrip(";").rstrip())
        counts = self._counts[process]
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        return f"{server}:{process}@{second}#{seen}:{key}"

    def end(self, process: str | None) -> None:
        """The process ended (its session did): a later one of its id starts counting anew."""
        if process in self._seconds:
            del self._seconds[process], self._counts[process]

    def _forget(self, newest: str) -> None:
        self._newest = newest
        try:
            horizon = (dt.datetime.fromisoformat(newest) - QUIET).isoformat(timespec="seconds")
        except ValueError:
            return
        for process in [p for p, second in self._seconds.items() if second < horizon]:
            del self._seconds[process], self._counts[process]

    def state(self) -> dict[str, Any]:
        if not self._seconds:
            return {}
        return {"seconds": dict(self._seconds), "counts": {p: dict(c) for p, c in self._counts.items()},
                "newest": self._newest}
