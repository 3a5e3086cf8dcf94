"""Where each source file was left off, so a nightly crawl reads only what is new.

A file is recognised by its head (its first bytes), so a cursor follows it through a rotation
(`app.log` -> `app.log.1`) or a rename; the bytes just before the offset are checked again, so
a file rewritten in the middle (not appended to) is noticed, reported, and read again from the
start (idempotent writes make that safe). A cursor also carries what reading had open at its
offset (sessions, transactions not yet ended), for the next crawl to go on with.

Heads are taken of the decompressed bytes, so a log compressed as it is rotated
(`postgresql.log` -> `postgresql.log.1.gz`) is still the file the last crawl read part of: only
what was written after that crawl is read from the archive. A compressed copy of a log still in
place (logrotate's ``copy``) is not read at all: the log itself holds its lines.

A file that begins as another path's file did but holds other bytes before that cursor's offset
is another file, read from its start without a word: warehouse exports whose header alone
fills the head begin alike. (One that holds the same bytes goes on from that offset: a renamed
log, or tomorrow's export of the whole history; one whose bytes that file, still in its place,
holds all of is a copy of it, and is not read.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from crawler import streams
from crawler.hadoop import path_of
from crawler.streams import is_compressed
from graph.batch import Cursor
from parsers import Origin, ParseIssue
from parsers.fingerprint import digest

HEAD = 512
# In an archive's cursor state: the crawl that wrote it had not read it to its end.
READING = "reading"
TAIL = 512


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Where to start reading a file: byte offset and line, what the last crawl had open there
    (``state``), and what was noticed on the way."""

    offset: int = 0
    line: int = 0
    state: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    issue: ParseIssue | None = None
    done: bool = False  # nothing to read: an archive read before, or a copy (its cursor: offset, line)


def _digest_of(stream: BinaryIO, start: int, length: int) -> str:
    stream.seek(start)
    return digest(stream.read(length).decode("latin-1"))


def resume(path: Path, known: Mapping[str, Cursor], *, archive: bool = False,
           seeded: set[str] | None = None) -> Start:
    """Where a crawl should start reading ``path``, given the cursors of earlier crawls. An
    ``archive`` (a compressed, rotated file) is never appended to: once read, it is done; if it
    is the compressed copy of a plain log read before, it is read from where that log was left.
    ``seeded`` collects the paths of the cursors the files of one crawl go on from: a cursor
    seeds one file at most, so a log and a copy of it are not both read on from it."""
    seeded = set() if seeded is None else seeded
    head = _head(path)
    cursor = _own(head, str(path), known) or (_legacy_archive(path, known) if archive else None)
    if cursor is not None and archive:
        state = json.loads(cursor.state)
        if state.get(READING):  # a crawl stopped part way through it (killed, or the rest unreadable)
            return Start(offset=cursor.offset, line=cursor.line, state=state)
        return Start(offset=cursor.offset, line=cursor.line, done=True)  # read, under this name
    if cursor is None:
        others = _moved(head, str(path), known)
        if archive and others and _renamed_while_written(others[0], seeded):
            # A compressed log read while still written, renamed since (Spark's app-1.zstd.inprogress
            # is app-1.zstd once the application ends): read on from where that crawl stopped.
            seeded.add(others[0].path)
            return Start(offset=others[0].offset, line=others[0].line, state=json.loads(others[0].state))
        if archive and others and _read_elsewhere(others[0], seeded):
            return Start(offset=others[0].offset, line=others[0].line, done=True)
        if not archive and any(_covered_by(path, other) for other in others):
            # A copy of a file still in its place, whose lines are read there: done, and given a
            # cursor at its end, so that it stays done once that file has moved on.
            size = path.stat().st_size
            return Start(offset=size, line=_lines(path), done=True)
        # An archive's bytes cannot be checked before the offset without reading them all; a
        # plain file goes on from the cursor whose last bytes it holds too (the others that
        # began alike went on otherwise: the next day's wide export, an older rotation).
        cursor = others[0] if archive and others else next((c for c in others if _holds(path, c)), None)
        if cursor is None:
            return Start()
        seeded.add(cursor.path)
        return Start(offset=cursor.offset, line=cursor.line, state=json.loads(cursor.state))
    if not _holds(path, cursor):
        return Start(issue=ParseIssue(
            code="file_changed", severity="warning",
            message=f"changed before byte {cursor.offset}, where the last crawl stopped (rewritten, not "
                    "appended to): read again from the start",
            origin=Origin(path=str(path), byte_offset=0)))
    seeded.add(cursor.path)
    return Start(offset=cursor.offset, line=cursor.line, state=json.loads(cursor.state))


def _lines(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))


def _covered_by(path: Path, cursor: Cursor) -> bool:
    """Whether the file a cursor was taken of, still in its place, holds all of this plain file:
    this one is a copy of it (``cp app.log app.log.bak``), made before it grew further."""
    size = path.stat().st_size
    other = path_of(cursor.path)
    if not _still_there(cursor) or other.stat().st_size < size:
        return False
    with path.open("rb") as mine, other.open("rb") as theirs:
        start, length = max(0, size - TAIL), min(TAIL, size)
        return _digest_of(mine, start, length) == _digest_of(theirs, start, length)


def _holds(path: Path, cursor: Cursor) -> bool:
    """Whether a plain file still holds, just before the cursor's offset, the bytes read there."""
    if path.stat().st_size < cursor.offset:
        return False
    with path.open("rb") as stream:
        return _digest_of(stream, max(0, cursor.offset - TAIL), min(TAIL, cursor.offset)) == cursor.tail_digest


def _head(path: Path) -> bytes:
    """The first bytes of the file as a reader sees them (decompressed); as far as they can be
    read (a damaged archive: its reader reports it)."""
    return streams.head(path, HEAD)


def _begins_as(head: bytes, cursor: Cursor) -> bool:
    length = cursor.head_length
    return length <= len(head) and digest(head[:length].decode("latin-1")) == cursor.head_digest


def _own(head: bytes, where: str, known: Mapping[str, Cursor]) -> Cursor | None:
    cursor = known.get(where)
    return cursor if cursor is not None and _begins_as(head, cursor) else None


def _legacy_archive(path: Path, known: Mapping[str, Cursor]) -> Cursor | None:
    """An archive's own cursor from before heads were decompressed: its head is of the raw bytes."""
    cursor = known.get(str(path))
    if cursor is None:
        return None
    with path.open("rb") as stream:
        raw = stream.read(cursor.head_length)
    return cursor if len(raw) == cursor.head_length and digest(raw.decode("latin-1")) == cursor.head_digest else None


def _moved(head: bytes, where: str, known: Mapping[str, Cursor]) -> list[Cursor]:
    """The cursors of other paths whose files began as this one does (it may be one of them,
    rotated or renamed), the furthest read first. A whole head tells; a small file's head (its
    cursor taken before it grew to a whole head) only once that file has left its place: two
    small files that begin alike may well be two files."""
    whole = digest(head.decode("latin-1")) if len(head) >= HEAD else None
    found = [other for other in known.values() if other.path != where and (
        other.head_digest == whole if other.head_length == HEAD
        else 0 < other.head_length <= len(head) and _begins_as(head, other) and not _still_there(other))]
    return sorted(found, key=lambda other: other.offset, reverse=True)


def _renamed_while_written(moved: Cursor, seeded: set[str]) -> bool:
    """Whether ``moved`` is the cursor of an archive a crawl stopped reading part way (or at the
    end of what was written then), whose file has left its place."""
    return (moved.path not in seeded and is_compressed(path_of(moved.path)) and not path_of(moved.path).exists()
            and bool(json.loads(moved.state).get(READING)))


def _read_elsewhere(moved: Cursor, seeded: set[str]) -> bool:
    """Whether an archive that begins as ``moved``'s file did is a copy of bytes read elsewhere,
    and reading it on from that cursor would count them twice: it is an archive renamed, one
    more copy of a log another file of this crawl goes on from, or the compressed copy of a log
    still in place (logrotate's ``copy``, ``gzip -k``). A log only grows: its cursor read the
    copy's lines up to its offset, and the log itself holds those past it, read this crawl."""
    return is_compressed(path_of(moved.path)) or moved.path in seeded or _still_there(moved)


def _still_there(cursor: Cursor) -> bool:
    """Whether the plain file a cursor was taken of is still at its path, as long and beginning
    the same (not truncated or replaced by a rotation)."""
    path = path_of(cursor.path)
    try:
        if path.stat().st_size < cursor.offset:
            return False
        with path.open("rb") as stream:
            return _begins_as(stream.read(cursor.head_length), cursor)
    except OSError:
        return False


def advance(path: Path, offset: int, line: int, state: Mapping[str, Any] | None = None) -> Cursor:
    """The cursor of ``path`` read up to ``offset`` (``line`` lines), with what was open there."""
    size = path.stat().st_size
    head = _head(path)
    if is_compressed(path):
        tail = ""  # an archive is never appended to: nothing to check at its offset
    else:
        with path.open("rb") as stream:
            tail = _digest_of(stream, max(0, offset - TAIL), min(TAIL, offset))
    return Cursor(path=str(path), offset=offset, line=line, head_length=len(head),
                  head_digest=digest(head.decode("latin-1")), tail_digest=tail, size=size,
                  state=json.dumps(state or {}, sort_keys=True, separators=(",", ":")))
