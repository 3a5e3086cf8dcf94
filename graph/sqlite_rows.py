"""Rows of the embedded store as the graph's types, and the small SQL helpers its reads share."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from graph.model import Edge, IssueFilter, Node, issue_key
from parsers import ParseIssue

NODE_COLUMNS = "id, kind, namespace, name, label, props, first_seen, last_seen, removed_at"
EDGE_COLUMNS = "src, kind, dst, count, confidence, first_seen, last_seen, props, stale_since, removed_at"
RUN_COLUMNS = "id, job, started_at, user, session_id, status, statement_kind, facets"
T = TypeVar("T")
_CHUNK = 500  # ids per IN (...) list


_NO_PROPS: dict[str, Any] = {}  # shared by every edge and node without properties: never mutated


def to_json(props: dict[str, Any]) -> str:
    return json.dumps(props, sort_keys=True) if props else "{}"


def _props(text: str) -> dict[str, Any]:
    return _NO_PROPS if text == "{}" else json.loads(text)


def liveness(as_of: str | None, include_removed: bool) -> tuple[str, list[str]]:
    """The SQL condition for an edge to count: live now, live at ``as_of``, or any."""
    if include_removed:
        return "", []
    if as_of is None:
        return " AND removed_at IS NULL", []
    return " AND (first_seen IS NULL OR first_seen <= ?) AND (removed_at IS NULL OR removed_at > ?)", [as_of, as_of]


def chunks(items: Sequence[T]) -> Iterator[list[T]]:
    items = list(items)
    for start in range(0, len(items), _CHUNK):
        yield items[start: start + _CHUNK]


def marks(items: Sequence[Any]) -> str:
    return ", ".join("?" for _ in items)


def node_of(row: tuple[Any, ...]) -> Node:
    node_id, kind, namespace, name, label, props, first_seen, last_seen, removed_at = row
    return Node(id=node_id, kind=kind, namespace=namespace, name=name, label=label, props=_props(props),
                first_seen=first_seen, last_seen=last_seen, removed_at=removed_at)


def edge_of(row: tuple[Any, ...]) -> Edge:
    src, kind, dst, count, confidence, first_seen, last_seen, props, stale_since, removed_at = row
    return Edge(src=src, kind=kind, dst=dst, count=count, confidence=confidence, first_seen=first_seen,
                last_seen=last_seen, props=_props(props), stale_since=stale_since, removed_at=removed_at)



def stored_runs(db: sqlite3.Connection, run_ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for chunk in chunks(run_ids):
        known.update(row[0] for row in db.execute(f"SELECT id FROM runs WHERE id IN ({marks(chunk)})", chunk))
    return known


def issue_clause(where: IssueFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (or nothing) and its parameters for a quarantine filter."""
    conditions: list[str] = []
    params: list[Any] = []
    if where.codes:
        conditions.append(f"code IN ({marks(where.codes)})")
        params += where.codes
    for column, value in (("severity", where.severity), ("crawl", where.since)):
        if value is not None:
            conditions.append(f"{column} >= ?" if column == "crawl" else f"{column} = ?")
            params.append(value)
    if where.path is not None:
        conditions.append("(path = ? OR substr(path, 1, ?) = ?)")
        prefix = where.path.rstrip("/") + "/"
        params += [where.path, len(prefix), prefix]
    if where.key is not None:
        conditions.append("substr(key, 1, ?) = ?")
        params += [len(where.key), where.key]
    if where.acknowledged is not None:
        conditions.append("acked_at IS NOT NULL" if where.acknowledged else "acked_at IS NULL")
    return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), params


def insert_issues(db: sqlite3.Connection, issues: Sequence[ParseIssue], crawl: int | None = None) -> int:
    """Quarantine the issues not there yet (one is known by its code, place and message), stamped
    with the crawl that found them."""
    added = 0
    for issue in issues:
        origin = issue.origin
        key = issue_key(issue)
        added += db.execute(
            "INSERT OR IGNORE INTO issues (key, code, severity, message, path, line, byte_offset, snippet, crawl)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, issue.code, issue.severity, issue.message, origin.path, origin.line, origin.byte_offset,
             issue.snippet, crawl),
        ).rowcount
    return added
