"""Managing the quarantine: reading quarantined records again after a parser upgrade, and
clearing what a crawl of the wrong ``--type`` put there.

A retry reads each quarantined record's place (its file and byte offset) with the reader of the
file's type, as a crawl would from there, and parses it again; the entry leaves the quarantine
unless the same issue comes back, and what the record now yields is written as any crawl's
(runs already stored are skipped). A record is parsed without what its session had open at
that place (``USE``, ``search_path``, temporary tables): those are carried only at cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import graph
from crawler.cursors import READING, Start, advance
from crawler.registry import SourceSpec, read
from crawler.streams import is_compressed
from graph import Store
from graph.model import Edge, IssueFilter, QuarantineEntry, issue_key
from parsers import LineageEvent, Origin, ParseIssue, SourceRecord

# Issues of a whole file, not of a record at their place: a retry has nothing to read again.
FILE_ISSUES = frozenset({"file_changed", "unreadable_file", "unsupported_codec", "log_truncated", "unknown_export"})

Parse = Callable[[SourceSpec, SourceRecord], tuple[list[LineageEvent], tuple[ParseIssue, ...]]]


def retryable(entry: QuarantineEntry) -> bool:
    return entry.issue.code not in FILE_ISSUES and entry.issue.origin.byte_offset is not None


def retry(files: Sequence[tuple[SourceSpec, Path, str]], store: Store, crawl: int | None,
          parse: Parse) -> dict[str, int]:
    """Read the quarantined records of ``files`` again; return how many left the quarantine
    (``released``) and how many are still there (``still``)."""
    by_path = {str(path): (spec, path, source_type) for spec, path, source_type in files}
    entries = [entry for entry in store.quarantine(IssueFilter()).entries
               if entry.issue.origin.path in by_path and retryable(entry)]
    released = still = 0
    for entry in entries:
        spec, path, source_type = by_path[entry.issue.origin.path]
        found = _reread(spec, path, source_type, entry.issue.origin, parse)
        if found is None or any(issue_key(issue) == entry.key for issue in found[1]):
            still += 1
            continue
        events, issues = found
        graph.write(store, events, (), issues, crawl=crawl)
        released += store.release([entry.key])
    return {name: count for name, count in (("released", released), ("still", still)) if count}


def _reread(spec: SourceSpec, path: Path, source_type: str, origin: Origin,
            parse: Parse) -> tuple[list[LineageEvent], tuple[ParseIssue, ...]] | None:
    """What the record at ``origin`` yields now; None if nothing starts there any more."""
    offset = origin.byte_offset or 0
    start = Start(offset=offset, line=max((origin.line or 1) - 1, 0))
    items = read(spec, path, source_type, start)
    try:
        for item in (read_item.item for read_item in items):
            if isinstance(item, ParseIssue):
                return [], (item,)
            if isinstance(item, SourceRecord):
                return parse(spec, item) if item.origin.byte_offset == offset else None
    except (OSError, EOFError, ValueError):
        return None
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
    return None


def rewind(store: Store, paths: Sequence[str]) -> list[str]:
    """Move the cursors of the files of ``paths`` still in place back to their start, so the next
    crawl reads them again (with the right type); return those paths."""
    cursors = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            cursors.append(advance(path, 0, 0, {READING: True} if is_compressed(path) else None))
    if cursors:
        graph.write(store, [], cursors)
    return [cursor.path for cursor in cursors]


UNKNOWN_VERSION = "unknown_model_version"


def check_model_versions(store: Store) -> list[ParseIssue]:
    """Quarantine each model version a prediction log served that no crawled source trained or
    registered (only the log names it: its tracking store is not in the crawl), and take out the
    entries of versions a source now produces. Return the issues quarantined anew."""
    serving: dict[str, list[Edge]] = {}
    for edge in store.served_unproduced():
        serving.setdefault(edge.src, []).append(edge)
    found: dict[str, ParseIssue] = {}
    for node, edges in serving.items():  # one issue a version, placed at the log that served it first
        first = min(edges, key=lambda edge: (edge.first_seen or "", edge.dst))
        evidence = store.evidence(first.key)
        path = evidence[0].origin.path if evidence else first.dst.removeprefix("dataset:")
        version = node.removeprefix("model_version:")
        issue = ParseIssue(code=UNKNOWN_VERSION, severity="warning", origin=Origin(path=path),
                           message=f"model version {version} served predictions, but no crawled source trained or "
                                   "registered it: add its tracking store (MLflow mlruns/ or mlflow.db) to the crawl")
        found[issue_key(issue)] = issue
    held = {entry.key for entry in store.quarantine(IssueFilter(codes=(UNKNOWN_VERSION,))).entries}
    if held - found.keys():
        store.release(sorted(held - found.keys()))
    new = [issue for key, issue in found.items() if key not in held]
    if new:
        store.add_issues(new)
    return new
