"""Generated bad input for every source type: real fixture files of the type, cut, spliced,
sprinkled with random bytes, re-encoded; plus random bytes and lines of JSON and CSV of the
wrong shapes. Used by tests/crawler/test_fuzz.py (a short run) and bench/fuzz.py (a long one).

Each input is crawled alone into a fresh in-memory store; what must hold is that the crawl
returns (no exception, no hang) and says what it rejected with a reason.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import zstandard
from hypothesis import strategies as st

import crawler  # noqa: F401  (registers the readers)
from crawler import SourceSpec, crawl
from crawler.crawl import CrawlReport
from crawler.registry import discover, source_types
from graph import open_store

ROOT = Path(__file__).resolve().parent.parent.parent
SEED_BYTES = 12_000  # of each fixture file: enough for a few whole records of every format
SECONDS_PER_INPUT = 20


def _decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith((".zst", ".zstd")):
        return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read(SEED_BYTES)
    if path.suffix == ".gz":
        return gzip.decompress(data)[:SEED_BYTES]
    return data[:SEED_BYTES]


def seeds() -> dict[str, list[bytes]]:
    """The beginning of every fixture file, by the source type it is read as."""
    found: dict[str, list[bytes]] = {source_type: [] for source_type in source_types()}
    for path, source_type in discover(SourceSpec(path=str(ROOT / "fixtures"))):
        if ".venv" not in path.parts:
            found[source_type].append(_decompressed(path))
    return found


def _json_values() -> st.SearchStrategy[str]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12).map(json.dumps)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` cut, with random bytes put in, lines repeated or dropped, line ends changed."""
    text = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        if not text:
            break
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "insert", "flip", "duplicate", "quote", "newline"]))
        if edit == "cut":
            del text[at:at + draw(st.integers(1, 400))]
        elif edit == "insert":
            text[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif edit == "flip" and at < len(text):
            text[at] = draw(st.integers(0, 255))
        elif edit == "duplicate":
            end = text.find(b"\n", at)
            text[at:at] = text[at:end + 1 if end >= 0 else len(text)]
        elif edit == "quote":
            text[at:at] = draw(st.sampled_from([b'"', b"'", b"\\", b"\r", b"\x00", b"{", b"}", b","]))
        else:
            text[at:at] = draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"]))
    if draw(st.booleans()):
        del text[draw(st.integers(0, len(text))):]
    return bytes(text)


def inputs(source_type: str, found: dict[str, list[bytes]]) -> st.SearchStrategy[bytes]:
    """Bad input for one source type: mutated fixtures of that type (or of any type, when it has
    none), random bytes, invalid UTF-8, JSON lines of wrong types, CSV with stray quotes."""
    own = found.get(source_type) or [seed for seeds_ in found.values() for seed in seeds_]
    lines = st.lists(st.one_of(_json_values(), st.text(max_size=80), st.just('"a,b'), st.just("{"),
                               st.just('"query_text","user_name"')), max_size=12)
    return st.one_of(
        st.sampled_from(own).flatmap(mutated),
        st.binary(max_size=3000),
        lines.map(lambda rows: "\n".join(rows).encode("utf-8", errors="surrogatepass")),
        lines.map(lambda rows: "\r\n".join(rows).encode("utf-16")),  # the wrong encoding
        st.sampled_from(own).map(lambda seed: seed.replace(b"\n", b"\xff\xfe\n")),  # invalid UTF-8
    )


@contextmanager
def bounded(seconds: int = SECONDS_PER_INPUT) -> Iterator[None]:
    """Fail (TimeoutError) rather than hang: each input is bounded in CPU time. (A virtual-time
    timer: the parser's own time limit uses the real-time one, SIGALRM.)"""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"one input took over {seconds} s of CPU: a hang")

    previous = signal.signal(signal.SIGVTALRM, expired)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def crawl_bytes(source_type: str, data: bytes, folder: Path, name: str = "input.log") -> CrawlReport:
    """Crawl ``data`` as a file of ``source_type`` into a fresh in-memory store."""
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (time.time() - 7200, time.time() - 7200))  # settled: read to its end
    store = open_store("sqlite:///:memory:")
    try:
        with bounded():
            report = crawl([SourceSpec(path=str(path), type=source_type)], store, stale_after=None)
    finally:
        store.close()
    for issue in report.issue_sample:
        assert issue.code and issue.message, issue  # every rejection says why
    return report
