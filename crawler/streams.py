"""Opening source files as byte streams (plain, gzip or zstd) and reading complete lines."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import zstandard

if TYPE_CHECKING:  # (cursors read heads through open_stream)
    from crawler.cursors import Start

# Python's csv module refuses fields over 128 KiB; a logged statement is often longer.
csv.field_size_limit(2**31 - 1)

# (.zstd: what Spark names its zstd event logs)
COMPRESSED = (".gz", ".zst", ".zstd")


# What Spark adds to the name of an event log still being written: ``app-1.zstd.inprogress``.
IN_PROGRESS = ".inprogress"


def codec_suffix(path: Path) -> str:
    """The suffix that tells how the file is compressed (``.zstd`` of ``app-1.zstd.inprogress``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == IN_PROGRESS:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def is_compressed(path: Path) -> bool:
    return codec_suffix(path) in COMPRESSED


def logical_suffix(path: Path) -> str:
    """The suffix that tells the format: ``.log`` for ``postgresql.log.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def open_stream(path: Path) -> BinaryIO:
    """The file's bytes, decompressed."""
    suffix = codec_suffix(path)
    if suffix == ".gz":
        return _Gzip(path.open("rb"))  # type: ignore[return-value]
    if suffix in (".zst", ".zstd"):
        return io.BufferedReader(_Zstd(path.open("rb")), buffer_size=1 << 16)  # buffered: for lines
    return path.open("rb")


class _Gzip(gzip.GzipFile):
    """A gzip file's bytes, read from a stream it closes when it is closed (a local file's, or
    one on a Hadoop filesystem: see crawler.hadoop)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _Zstd(io.RawIOBase):
    """A zstd file's bytes, frame after frame, that raises EOFError where the file ends inside a
    frame, as gzip does for a cut archive (zstandard's stream_reader just ends there). Input goes
    in 1 KiB at a time: one read decompresses to some tens of megabytes at the most (a GiB of
    zeros fits in 32 KiB of zstd), and a million log lines cost 0.07 s more than 16 KiB reads."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._zstd = zstandard.ZstdDecompressor()
        self._frame = self._zstd.decompressobj()
        self._in_frame = False  # fed bytes of a frame that has not ended yet
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out:
            chunk = self._raw.read(1 << 10)
            if not chunk:
                if self._in_frame:
                    raise EOFError("the zstd file ends inside a frame (cut short?)")
                return 0
            parts = []
            while chunk:  # the chunk may end one frame and begin the next (zstd files may hold several)
                if self._frame.eof:
                    self._frame = self._zstd.decompressobj()
                parts.append(self._frame.decompress(chunk))
                chunk = self._frame.unused_data if self._frame.eof else b""
            self._in_frame = not self._frame.eof
            self._out = memoryview(b"".join(parts))
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


# A log entry may go on over several lines (PostgreSQL stderr, MySQL logs): the last one of a
# file written to in the last seconds may not be whole yet, and waits for the next crawl.
QUIET_SECONDS = 10.0


def settled(path: Path) -> bool:
    """Whether the file's last entry is whole: it is an archive, or nobody wrote to it lately and
    it ends with a newline (a server writes whole lines: one cut short is a write in progress,
    and the entry it belongs to may go on), or nobody wrote to it for an hour (a crash's cut
    line, which is never read, then no longer holds back the entry before it)."""
    if is_compressed(path):
        return True
    quiet = time.time() - path.stat().st_mtime
    if quiet <= QUIET_SECONDS:
        return False
    if quiet > ABANDONED_SECONDS:
        return True
    with path.open("rb") as stream:
        if stream.seek(0, 2) == 0:
            return True
        stream.seek(-1, 2)
        return stream.read(1) == b"\n"


ABANDONED_SECONDS = 3600.0


def head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of the (decompressed) file, to tell its format."""
    try:
        with open_stream(path) as stream:
            return stream.read(size)
    except (OSError, EOFError, zstandard.ZstdError):
        return b""


def skip(stream: BinaryIO, offset: int) -> None:
    """Move to ``offset``: by seeking, or in a stream that cannot seek (zstd) by reading on."""
    if stream.seekable():
        stream.seek(offset)
        return
    while offset > 0:
        chunk = stream.read(min(offset, 1 << 20))
        if not chunk:
            return
        offset -= len(chunk)


def lines_from(path: Path, start: Start) -> Iterator[tuple[bytes, int, int]]:
    """Complete lines from ``start`` on, each with its byte offset and line number. A last
    line without its newline is left for a later crawl: the writer may still be on it."""
    offset, number = start.offset, start.line
    with open_stream(path) as stream:
        if offset:
            skip(stream, offset)
        for raw in stream:
            if not raw.endswith(b"\n"):
                return
            number += 1
            yield raw, offset, number
            offset += len(raw)


@dataclasses.dataclass(frozen=True, slots=True)
class Unreadable:
    """A row that could not be read, and why."""

    reason: str


def rows_from(path: Path, start: Start) -> Iterator[tuple[dict[str, Any] | Unreadable | None, int, int, int]]:
    """Rows of a CSV file (header first; a quoted field may hold newlines) or a JSON-lines file,
    from ``start`` on, each with its offset, end and line number; None for a line that is not a
    JSON object. Only the header is read before ``start``: a growing export is not read again."""
    from crawler.cursors import Start

    # Told from the first line as it is: a JSON line's quotes may be odd (an escaped \"), and
    # joining lines by quotes, as CSV records are, would run on to the end of the file.
    lines = lines_from(path, Start())
    first = next(lines, None)
    if first is None:
        return
    if first[0].lstrip().startswith(b"{"):
        for line, offset, number in lines_from(path, start):
            yield _json_row(line), offset, offset + len(line), number
        return
    header_record = next(_records(itertools.chain([first], lines), final=False), None)
    if header_record is None:
        return
    names, _, end, number = header_record
    try:
        header = [column.strip() for column in _csv_row(names or b"")]
    except csv.Error as error:
        yield Unreadable(f"the header is not a CSV row ({error}): the file is skipped"), 0, end, number
        return
    resume_at = start if start.offset >= end else Start(offset=end, line=number)
    for raw, offset, end, number in _records(lines_from(path, resume_at), final=settled(path)):
        if raw is None:
            yield Unreadable("a quote opened on this line is never closed: the line is skipped"), offset, end, number
            continue
        try:
            row = _csv_row(raw)
        except csv.Error as error:  # a bare carriage return inside an unquoted field, a NUL byte
            yield Unreadable(f"not a CSV row ({error}): the line is skipped"), offset, end, number
            continue
        if row:
            yield dict(zip(header, row, strict=False)), offset, end, number


def _records(lines: Iterator[tuple[bytes, int, int]], *, final: bool) -> Iterator[tuple[bytes | None, int, int, int]]:
    """Whole CSV records with their offset, end and last line: a record whose quoted field holds
    newlines goes on over several lines (an odd count of quotes so far). In a ``final`` file, one
    still open at the end was opened by a stray quote: its first line comes as None (a bad row),
    and the lines after it are read again as records of their own."""
    while True:
        pending: list[tuple[bytes, int, int]] = []
        quotes = 0
        for raw, offset, number in lines:
            pending.append((raw, offset, number))
            quotes += raw.count(b'"')
            if quotes % 2:
                continue
            yield b"".join(line for line, _, _ in pending), pending[0][1], offset + len(raw), number
            pending, quotes = [], 0
        if not (final and pending):
            return  # (a record still open in a file being written waits for a later crawl)
        raw, offset, number = pending[0]
        yield None, offset, offset + len(raw), number
        lines = iter(pending[1:])


def _csv_row(chunk: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(chunk.decode("utf-8", errors="replace"))), [])


def _json_row(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
