"""Walks over the embedded store: its graph's shape loaded into arrays for walks in memory, and
the same walks in SQL while the shape loads (or with ``traversal=store``)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graph.batch import Batch
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
    shape = Topology(ids, np.array(ends, np.int32), np.array(kinds, np.int8), int(generation))
    shape.codes  # noqa: B018 - sorted here, in the loading thread, for the first patch
    return shape


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



LOG_KEEP = 200_000  # edges and nodes the shape log keeps, newest first: a reader further behind loads


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShapeChange:
    """What one write changed of the graph's shape: walk edges ``(src, kind, dst)`` it made live
    (or found live) and removed, and nodes of the kinds at their ends it made live (or found so)."""

    added: tuple[tuple[str, str, str], ...] = ()
    removed: tuple[tuple[str, str, str], ...] = ()
    nodes: tuple[str, ...] = ()

    @classmethod
    def of_batch(cls, batch: Batch) -> ShapeChange:
        return cls(added=tuple(key for key in batch.edges if key[1] in KINDS),
                   nodes=tuple(node.id for node in batch.nodes.values() if node.kind in END_KINDS))

    @classmethod
    def of_removal(cls, edges: Sequence[Sequence[str]]) -> ShapeChange:
        """(A node removed changes no walk: its live edges stay in the shape, as a load has them.)"""
        return cls(removed=tuple((src, kind, dst) for src, kind, dst in edges if kind in KINDS))

    def log(self, db: sqlite3.Connection) -> None:
        """Kept with the generation the write made, in its transaction; older entries go past
        ``LOG_KEEP`` (a write larger than that is not kept: readers load the shape again)."""
        size = len(self.added) + len(self.removed) + len(self.nodes)
        (generation,) = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        if size <= LOG_KEEP:
            changes = {"added": self.added, "removed": self.removed, "nodes": self.nodes}
            db.execute("INSERT OR REPLACE INTO shape_log (generation, size, changes) VALUES (?, ?, ?)",
                       (int(generation), size, json.dumps(changes)))
        db.execute("DELETE FROM shape_log WHERE generation <= (SELECT max(generation) FROM (SELECT generation,"
                   " sum(size) OVER (ORDER BY generation DESC) AS kept FROM shape_log) WHERE kept > ?)", (LOG_KEEP,))


LATE_MAX = 2_000  # nodes made live that a patch places among the others by a lookup each; more: load


def patch_shape(db: sqlite3.Connection, held: Topology) -> Topology | None:
    """The shape ``held`` brought to the store's generation by the shape log's entries since its
    own, or None where the log cannot say (an entry trimmed, a write by code that keeps none, too
    many nodes to place): then the shape is loaded again."""
    try:
        (generation,) = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        rows = db.execute("SELECT changes FROM shape_log WHERE generation > ? AND generation <= ? ORDER BY generation",
                          (held.generation, int(generation))).fetchall()
    except sqlite3.OperationalError:  # a store made before the log, opened read-only
        return None
    if len(rows) != int(generation) - held.generation:
        return None
    shape = held
    for (text,) in rows:
        changes = json.loads(text)
        late = {node for node in changes["nodes"] if node not in shape.late
                and shape.position.get(node, shape.sorted_size) >= shape.sorted_size}
        if len(late) > LATE_MAX:
            return None
        shape = shape.patched(int(generation), [tuple(edge) for edge in changes["added"]],
                              [tuple(edge) for edge in changes["removed"]], _late_places(db, shape, late))
    return shape


def _late_places(db: sqlite3.Connection, held: Topology, nodes: set[str]) -> dict[str, tuple[Any, ...]]:
    """Where nodes not among the shape's sorted ones sort: (the position of the sorted node just
    before them by (kind, name, id), kind, name, id)."""
    places: dict[str, tuple[Any, ...]] = {}
    for chunk in chunks(sorted(nodes)):
        for node, kind, name in db.execute(f"SELECT id, kind, name FROM nodes WHERE id IN ({marks(chunk)})", chunk):
            places[node] = (_sorted_before(db, held, kind, name, node), kind, name, node)
    return places


def _sorted_before(db: sqlite3.Connection, held: Topology, kind: str, name: str, node: str) -> int:
    """The position of the last of the shape's sorted nodes before (kind, name, node); -1 if none.
    Read down the (kind, name) index from there: the first sorted node found is it, but for
    others of its name (sorted among themselves by id)."""
    for other in sorted((k for k in END_KINDS if k <= kind), reverse=True):
        rows = (db.execute("SELECT id, name FROM nodes WHERE kind = ? AND name <= ? ORDER BY name DESC", (other, name))
                if other == kind else db.execute("SELECT id, name FROM nodes WHERE kind = ? ORDER BY name DESC",
                                                 (other,)))
        found, found_name = -1, None
        for at_id, at_name in rows:
            if found >= 0 and at_name != found_name:
                break
            at = held.position.get(at_id, held.sorted_size)
            if at < held.sorted_size and not (other == kind and at_name == name and at_id >= node):
                found, found_name = max(found, at), at_name
        if found >= 0:
            return found
    return -1
