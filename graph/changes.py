"""Crawls by number, and what changed in the lineage between two of them.

Each crawl takes the number after the last report's (:func:`next_crawl`) and stamps what it
adds, marks stale and removes (nodes and edges carry ``added_in``, ``stale_in`` and
``removed_in``; their ``first_seen`` is the log's time, which says nothing of when a crawl found
them). A crawl killed before its report is saved leaves its number to the next crawl, which then
owns what the killed one wrote: the diff of two reports is exactly what happened in between.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any

from graph.errors import GraphError
from graph.model import EDGE_KINDS, Change, Node
from graph.store import Store

# How a node kind is counted in a diff (runs are history, never in one).
_GROUPS = {"dataset": "datasets", "job": "jobs", "column": "columns", "model": "models",
           "model_version": "model_versions", "source": "sources"}
CHANGES = ("added", "stale", "removed")
# What a crawl's kept summary lists by name (the rest is counted), and how many at most.
LISTED = ("dataset", "job", "model", "model_version")
LISTED_AT_MOST = 50


class UnknownCrawlError(GraphError):
    """A crawl number that no report in the store has."""


def next_crawl(store: Store) -> int:
    """The number the next crawl of ``store`` takes: one after the last report's.

    >>> from graph.store import open_store
    >>> store = open_store("sqlite:///:memory:")
    >>> next_crawl(store)
    1
    >>> store.save_report({"crawl": 1})
    >>> next_crawl(store)
    2
    """
    last = store.reports(limit=1)
    return int(last[0]["crawl"]) + 1 if last else 1


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """The lineage that changed after crawl ``after`` up to crawl ``upto``: counts by change and
    group (``{"added": {"datasets": 2, "READS": 3}}``), then the changes with their ends' names."""

    after: int
    upto: int
    counts: dict[str, dict[str, int]]
    changes: list[Change]
    names: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for change in self.changes:
            row: dict[str, Any] = {"crawl": change.crawl, "change": change.change}
            if change.node is not None:
                row.update(kind=change.node.kind, id=change.node.id, name=self.names.get(change.node.id))
            elif change.edge is not None:
                edge = change.edge
                row.update(kind=edge.kind, src=edge.src, dst=edge.dst, src_name=self.names.get(edge.src),
                           dst_name=self.names.get(edge.dst))
            rows.append(row)
        return {"after": self.after, "upto": self.upto, "counts": self.counts, "changes": rows}


def crawl_pair(store: Store, first: int | None, second: int | None) -> tuple[int, int]:
    """The two crawls to diff, earlier first: those given, the last crawl for a missing second,
    and the last two when neither is given. Crawl 0 is the empty store before the first crawl."""
    numbers = [int(report["crawl"]) for report in store.reports(limit=1 << 30)]
    if not numbers:
        raise UnknownCrawlError("no crawl reports in the store yet (run `lineage crawl` first)")
    if first is None and second is None:
        first, second = (numbers[1] if len(numbers) > 1 else 0), numbers[0]
    elif second is None:
        second = numbers[0]
    assert first is not None
    for number in (first, second):
        if number != 0 and number not in numbers:
            raise UnknownCrawlError(f"no report of crawl {number} (`lineage reports` lists them)")
    return min(first, second), max(first, second)


def diff(store: Store, after: int, upto: int) -> Diff:
    """What crawls ``after`` + 1 to ``upto`` changed, by the store's crawl stamps."""
    changes = sorted(store.changes(after, upto), key=_order)
    counts: dict[str, Counter[str]] = {change: Counter() for change in CHANGES}
    for change in changes:
        group = _GROUPS.get(change.node.kind, change.node.kind) if change.node else change.edge.kind  # type: ignore[union-attr]
        counts[change.change][group] += 1
    ends = {end for c in changes if c.edge is not None for end in (c.edge.src, c.edge.dst)}
    names = {c.node.id: _name(c.node) for c in changes if c.node is not None}
    missing = sorted(ends - names.keys())
    names.update((node.id, _name(node)) for node in store.nodes(ids=missing, include_removed=True))
    return Diff(after=after, upto=upto, counts=in_order({k: dict(v) for k, v in counts.items() if v}),
                changes=changes, names=names)


def in_order(counts: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Counts by change and group in the order they are told: added, stale, removed; node groups
    first, then edges in the graph model's order (a report kept as JSON with sorted keys loses it).

    >>> in_order({"removed": {"jobs": 1}, "added": {"READS": 3, "datasets": 2}})
    {'added': {'datasets': 2, 'READS': 3}, 'removed': {'jobs': 1}}
    """
    changes = sorted(counts, key=lambda change: (CHANGES.index(change) if change in CHANGES else 9, change))
    return {change: dict(sorted(counts[change].items(), key=lambda item: _group_order(item[0]))) for change in changes}


def summary(changed: Diff, listed: int = LISTED_AT_MOST) -> dict[str, Any]:
    """What a crawl's report keeps of its changes, as the crawls page shows them: the counts by
    change and group, and the first ``listed`` datasets, jobs, models and versions changed (of
    ``nodes`` in all). Worked out once, when the crawl ends: the diff scans whole tables.

    >>> from graph.store import open_store
    >>> summary(diff(open_store("sqlite:///:memory:"), 0, 1))
    {'after': 0, 'upto': 1, 'counts': {}, 'listed': [], 'nodes': 0}
    """
    nodes = _listed(changed)
    return {"after": changed.after, "upto": changed.upto, "counts": changed.counts,
            "listed": [{"change": change.change, "kind": node.kind, "id": node.id,
                        "name": changed.names.get(node.id, node.id)} for change, node in nodes[:listed]],
            "nodes": len(nodes)}


def _listed(changed: Diff) -> list[tuple[Change, Node]]:
    return [(change, change.node) for change in changed.changes
            if change.node is not None and change.node.kind in LISTED]


def crawl_summary(store: Store, crawl: int) -> dict[str, Any]:
    """:func:`summary` of what crawl ``crawl`` changed (since the crawl before it)."""
    return summary(diff(store, crawl - 1, crawl))


def _name(node: Node) -> str:
    """A job by its label (its SQL's shape), a column with its table."""
    if node.kind == "column" and "#" in node.id:  # column:<namespace>/<table>#<column>
        where = node.id.removeprefix("column:").partition("#")[0]
        prefix = f"{node.namespace}/" if node.namespace else ""
        if not (prefix and where.startswith(prefix)):
            scheme, _, rest = where.rpartition("://")
            prefix = where[: len(where) - len(rest)] + rest.partition("/")[0] + "/" if scheme else ""
        return f"{where.removeprefix(prefix)}.{node.name}"
    return node.label if node.kind == "job" and node.label else node.name


def _group_order(group: str) -> tuple[int, int]:
    """Node groups first (datasets, jobs, ...), then edges in the graph model's order."""
    groups = list(_GROUPS.values())
    return (0, groups.index(group)) if group in groups else (1, EDGE_KINDS.index(group) if group in EDGE_KINDS else 99)


def _order(change: Change) -> tuple[int, str, str, str]:
    what = change.node.kind if change.node else change.edge.kind  # type: ignore[union-attr]
    key = change.node.id if change.node else "\0".join(change.edge.key)  # type: ignore[union-attr]
    return CHANGES.index(change.change), "0" if change.node else "1", what, key
