"""One writer at a time per store: who holds the writer lock, waiting for it, and the lock the
embedded store takes.

Two crawls writing one store at once would each store what the other had not committed yet when
it looked: edge counts, usage and evidence counted twice. So every writer (``lineage crawl``,
``lineage import``, :func:`crawler.crawl.crawl`) holds the store's writer lock while it writes;
readers take none. A backend supplies how to try the lock once (:class:`WriterLock`'s
``_attempt``) and how to let it go; this module supplies the rest: re-entry, waiting, and an
error that names the holder. A lock must not outlive its holder: the embedded store's is an OS
lock on a file (:class:`FileLock`), which the OS lets go when the process dies; Neo4j's is a lease
(:mod:`graph.neo4j_lock`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from graph.errors import GraphError, StoreBusyError

POLL = 0.2  # seconds between tries while waiting
_COMMAND_SHOWN = 120  # characters of the holder's command line an error quotes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """Who holds a writer lock: enough for a person to find the process (and kill it if stuck)."""

    host: str
    pid: int
    started_at: str  # ISO 8601, UTC
    command: str = ""

    @classmethod
    def me(cls) -> Holder:
        """This process, from now."""
        return cls(host=socket.gethostname(), pid=os.getpid(),
                   started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                   command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Holder:
        """A holder as stored; one written part way (or not at all yet) is an unknown holder.

        >>> Holder.from_dict({"host": "etl-1", "pid": 42, "started_at": "2026-11-25T06:00:00+00:00"}).pid
        42
        >>> Holder.from_dict(None).host
        'an unknown host'
        """
        try:
            return cls(host=str(data["host"]), pid=int(data["pid"]), started_at=str(data["started_at"]),
                       command=str(data.get("command") or ""))
        except (KeyError, TypeError, ValueError):
            return cls(host="an unknown host", pid=0, started_at="")

    def is_dead_here(self) -> bool:
        """Whether this is a process of this host that no longer runs (a crawl killed): its lock
        may be taken over at once. (A pid reused since only makes us wait for the lease.)"""
        if self.host != socket.gethostname() or self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False

    def describe(self, now: dt.datetime | None = None) -> str:
        """Who, where, since when, doing what.

        >>> Holder(host="etl-1", pid=42, started_at="2026-11-25T06:00:00+00:00", command="lineage crawl").describe(
        ...     dt.datetime(2026, 11, 25, 6, 2, 5, tzinfo=dt.UTC))
        'held by pid 42 on etl-1 since 2026-11-25T06:00:00+00:00 (125 s ago): lineage crawl'
        """
        try:
            started = dt.datetime.fromisoformat(self.started_at)
            ago = f" ({((now or dt.datetime.now(dt.UTC)) - started).total_seconds():.0f} s ago)"
        except ValueError:
            ago = ""
        command = self.command if len(self.command) <= _COMMAND_SHOWN else self.command[:_COMMAND_SHOWN] + "..."
        return f"held by pid {self.pid} on {self.host} since {self.started_at or 'an unknown time'}{ago}" + (
            f": {command}" if command else "")


class WriterLock:
    """A store's writer lock, taken by ``hold``: re-entrant within one store handle (a crawl
    calls writes that a caller may already hold the lock for), waiting up to ``wait`` seconds."""

    def __init__(self, store: str) -> None:
        self._store = store
        self._depth = 0
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, wait: float = 0.0) -> Iterator[None]:
        with self._guard:
            if self._depth == 0:
                self._acquire(wait)
            self._depth += 1
        try:
            yield
        finally:
            with self._guard:
                self._depth -= 1
                if self._depth == 0:
                    self._release()

    @property
    def held(self) -> bool:
        return self._depth > 0

    def _acquire(self, wait: float) -> None:
        me = Holder.me()
        deadline = time.monotonic() + wait
        while True:
            holder = self._attempt(me)
            if holder is None:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreBusyError(self._store, holder.describe(), wait)
            time.sleep(min(POLL, left))

    def _attempt(self, me: Holder) -> Holder | None:
        """Take the lock if free; otherwise who holds it."""
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


class NoLock(WriterLock):
    """For a store only this process can reach (SQLite ``:memory:``)."""

    def _attempt(self, me: Holder) -> Holder | None:
        return None

    def _release(self) -> None:
        pass


class FileLock(WriterLock):
    """An exclusive ``flock`` on a file beside the database, which says who holds it (JSON).
    The OS releases it when the holder dies however it dies, so a killed crawl's lock is free at
    once. The file stays (deleting it would let two writers lock two different files).
    ``flock`` does not reach across NFS: keep the store on a local disk."""

    def __init__(self, store: str, path: Path) -> None:
        super().__init__(store)
        self._path = path
        self._fd: int | None = None

    def _attempt(self, me: Holder) -> Holder | None:
        import fcntl  # (POSIX: here, so that reading a store needs none)

        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                text = os.pread(fd, 64 * 1024, 0).decode("utf-8", "replace")
            finally:
                os.close(fd)
            return Holder.from_dict(_json_or_none(text))
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me.to_dict(), sort_keys=True).encode("utf-8"), 0)
        self._fd = fd
        return None

    def _release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # lets go of the flock


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def read_only_lock(store: str) -> GraphError:
    return GraphError(f"{store} is open read-only: a reader takes no writer lock")
