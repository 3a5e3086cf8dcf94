"""Opening source files as byte streams (plain, gzip or zstd) and reading complete lines."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from crawler.cursors import Start

COMPRESSED = (".gz", ".zst")


def is_compressed(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSED


def logical_suffix(path: Path) -> str:
    """The suffix that tells the format: ``.log`` for ``postgresql.log.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def open_stream(path: Path) -> BinaryIO:
    """The file's bytes, decompressed."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if suffix == ".zst":
        return zstandard.ZstdDecompressor().stream_reader(path.open("rb"), closefd=True)
    return path.open("rb")


def head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of the (decompressed) file, to tell its format."""
    try:
        with open_stream(path) as stream:
            return stream.read(size)
    except (OSError, EOFError, zstandard.ZstdError):
        return b""


def lines_from(path: Path, start: Start) -> Iterator[tuple[bytes, int, int]]:
    """Complete lines from ``start`` on, each with its byte offset and line number. A last
    line without its newline is left for a later crawl: the writer may still be on it."""
    offset, number = start.offset, start.line
    with open_stream(path) as stream:
        if offset:
            stream.seek(offset)
        for raw in stream:
            if not raw.endswith(b"\n"):
                return
            number += 1
            yield raw, offset, number
            offset += len(raw)
