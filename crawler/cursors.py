"""Where each source file was left off, so a nightly crawl reads only what is new.

A file is recognised by its head (its first bytes), so a cursor follows it through a rotation
(`app.log` -> `app.log.1`) or a rename; the bytes just before the offset are checked again, so
a file rewritten in the middle (not appended to) is noticed, reported, and read again from the
start (idempotent writes make that safe). A cursor also carries what reading had open at its
offset (sessions, transactions not yet ended), for the next crawl to go on with.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from graph.batch import Cursor
from parsers import Origin, ParseIssue
from parsers.fingerprint import digest

HEAD = 512
TAIL = 512


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Where to start reading a file: byte offset and line, what the last crawl had open there
    (``state``), and what was noticed on the way."""

    offset: int = 0
    line: int = 0
    state: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    issue: ParseIssue | None = None
    done: bool = False


def _digest_of(stream: BinaryIO, start: int, length: int) -> str:
    stream.seek(start)
    return digest(stream.read(length).decode("latin-1"))


def resume(path: Path, known: Mapping[str, Cursor], *, archive: bool = False) -> Start:
    """Where a crawl should start reading ``path``, given the cursors of earlier crawls. An
    ``archive`` (a compressed, rotated file) is never appended to: once read, it is done."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        cursor = _match(stream, size, str(path), known)
        if cursor is None:
            return Start()
        if archive:
            return Start(offset=cursor.offset, line=cursor.line, done=True)
        if size < cursor.offset or _digest_of(stream, max(0, cursor.offset - TAIL),
                                              min(TAIL, cursor.offset)) != cursor.tail_digest:
            return Start(issue=ParseIssue(
                code="file_changed", severity="warning",
                message=f"changed before byte {cursor.offset}, where the last crawl stopped (rewritten, not "
                        "appended to): read again from the start",
                origin=Origin(path=str(path), byte_offset=0)))
        return Start(offset=cursor.offset, line=cursor.line, state=json.loads(cursor.state))


def _match(stream: BinaryIO, size: int, where: str, known: Mapping[str, Cursor]) -> Cursor | None:
    heads: dict[int, str] = {}

    def head(length: int) -> str:
        if length not in heads:
            heads[length] = _digest_of(stream, 0, length)
        return heads[length]

    cursor = known.get(where)
    if cursor is not None and cursor.head_length <= size and head(cursor.head_length) == cursor.head_digest:
        return cursor
    for other in known.values():  # rotated or renamed: the same head under another name
        if other.path != where and 0 < other.head_length <= size and head(other.head_length) == other.head_digest:
            return other
    return None


def advance(path: Path, offset: int, line: int, state: Mapping[str, Any] | None = None) -> Cursor:
    """The cursor of ``path`` read up to ``offset`` (``line`` lines), with what was open there."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        head_length = min(HEAD, size)
        return Cursor(path=str(path), offset=offset, line=line, head_length=head_length,
                      head_digest=_digest_of(stream, 0, head_length),
                      tail_digest=_digest_of(stream, max(0, offset - TAIL), min(TAIL, offset)), size=size,
                      state=json.dumps(state or {}, sort_keys=True, separators=(",", ":")))
