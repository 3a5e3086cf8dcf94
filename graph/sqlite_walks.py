"""Walks over the embedded store: its graph's shape loaded into arrays for walks in memory, and
the same walks in SQL while the shape loads (or with ``traversal=store``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graph.sqlite_rows import chunks, marks
from graph.topology import END_KINDS, KINDS, Topology


def load_shape(connect: Callable[[], sqlite3.Connection]) -> Topology:
    """The generation, the live nodes at the ends of walk edges (in the order impact pages list
    them) and the live walk edges, read in one transaction on a connection of its own: the shape
    of one generation, as 32-bit positions (strings are held once, in ``ids``)."""
    db = connect()
    try:
        db.execute("BEGIN")
        (generation,) = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        ids = [node for (node,) in db.execute(
            f"SELECT id FROM nodes WHERE kind IN ({marks(END_KINDS)}) AND removed_at IS NULL"
            " ORDER BY kind, name, id", END_KINDS)]
        position = {node: index for index, node in enumerate(ids)}
        code = {kind: index for index, kind in enumerate(KINDS)}
        ends: list[int] = []
        kinds: list[int] = []
        rows = db.execute(f"SELECT src, kind, dst FROM edges WHERE kind IN ({marks(KINDS)}) AND removed_at IS NULL",
                          KINDS)
        for src, kind, dst in rows:
            for end in (src, dst):  # an end that is no live node of those kinds sorts last
                at = position.get(end)
                if at is None:
                    at = position[end] = len(ids)
                    ids.append(end)
                ends.append(at)
            kinds.append(code[kind])
        db.rollback()
    finally:
        db.close()
    return Topology(ids, np.array(ends, np.int32), np.array(kinds, np.int8), int(generation))


class Borrowed:
    """The one connection of an in-memory store, lent to the shape's loader: not closed by it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def rollback(self) -> None:
        self._db.rollback()

    def close(self) -> None:
        pass


def reach_in_sql(db: sqlite3.Connection, root: str, outgoing: Sequence[str], incoming: Sequence[str],
                  steps: Mapping[str, int], cutoff: int | None) -> dict[str, int]:
    """``Store.reach`` by Dial's algorithm over the edges table, a level's frontier at a time (while
    the shape loads, or with ``traversal=store``): the same distances as the walk in memory."""
    ways = [(column, other, kind) for column, other, kinds in (("src", "dst", outgoing), ("dst", "src", incoming))
            for kind in kinds if kind in KINDS]
    best = {root: 0}
    pending: dict[int, list[str]] = {0: [root]}
    while pending:
        level = min(pending)
        frontier = [node for node in dict.fromkeys(pending.pop(level)) if best[node] == level]
        for column, other, kind in ways:
            reached = level + steps[kind]
            if cutoff is not None and reached > cutoff:
                continue
            for chunk in chunks(frontier):
                query = (f"SELECT {other} FROM edges WHERE {column} IN ({marks(chunk)}) AND kind = ?"
                         " AND removed_at IS NULL")
                for (node,) in db.execute(query, [*chunk, kind]):
                    if reached < best.get(node, reached + 1):
                        best[node] = reached
                        pending.setdefault(reached, []).append(node)
    return dict(sorted(best.items(), key=lambda item: item[1]))

