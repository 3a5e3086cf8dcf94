"""The lineage graph's shape in arrays, for walks that must answer in milliseconds.

Nodes are positions in an array of ids, in the order impact pages list them; the edges a walk
follows (reads, writes, training, column derivations) are rows of two positions and a kind code.
A walk builds compressed adjacency rows per step once, then settles a whole level of a
breadth-first search at a time with numpy. Both stores keep one: the embedded store next to its
edge details, the Neo4j store alone (details stay in the server; the shape of a million edges
takes tens of megabytes)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

# The edges walks follow, and their codes in ``Topology.kinds``.
KINDS = ("READS", "WRITES", "TRAINED_ON", "DERIVES", "SERVED")
# The node kinds at their ends: datasets and jobs, model versions, columns.
END_KINDS = ("dataset", "job", "column", "model_version")


class Topology:
    """Nodes by position and edges as ``ends`` rows (src, dst) with ``kinds``. Positions follow
    the nodes' (kind, name, id): the order in which an impact page lists the nodes of one distance,
    so a page is chosen from positions alone."""

    def __init__(self, ids: Sequence[str], ends: np.ndarray, kinds: np.ndarray, generation: int) -> None:
        self.generation = generation
        self.ids = np.array(ids, dtype=object)
        self.position = {node: index for index, node in enumerate(ids)}
        self.ends = ends.reshape(-1, 2).astype(np.int32, copy=False)
        self.kinds = kinds.astype(np.int8, copy=False)
        self.walks: dict[tuple[Any, ...], list[_Adjacency]] = {}

    def reach(self, root: str, outgoing: Sequence[str], incoming: Sequence[str], steps: Mapping[str, int],
              cutoff: int | None) -> Mapping[str, int]:
        """Shortest distances from ``root`` (see ``Store.reach``); the answer stays in arrays,
        names are made only for what the caller reads."""
        start = self.position.get(root)
        if start is None:
            return {root: 0}
        graphs = self._walk_graphs(tuple(outgoing), tuple(incoming), tuple(sorted(steps.items())))
        order, distance = _breadth_first(graphs, start, len(self.ids), cutoff)
        return Reached(self, order, distance)

    def _walk_graphs(self, outgoing: tuple[str, ...], incoming: tuple[str, ...],
                     steps: tuple[tuple[str, int], ...]) -> list[_Adjacency]:
        """The walk's edges by step, each as adjacency arrays in the direction walked."""
        key = (outgoing, incoming, steps)
        graphs = self.walks.get(key)
        if graphs is None:
            cost, by_step = dict(steps), defaultdict(list)
            for kinds, way in ((outgoing, slice(None)), (incoming, slice(None, None, -1))):
                for kind in kinds:
                    if kind in KINDS:
                        by_step[cost[kind]].append(self.ends[self.kinds == KINDS.index(kind)][:, way])
            graphs = self.walks[key] = [_Adjacency.of(np.concatenate(pairs), len(self.ids), step)
                                        for step, pairs in sorted(by_step.items()) if sum(map(len, pairs))]
        return graphs


class _Adjacency(NamedTuple):
    """Edges of one step as compressed rows: the targets of node i are
    ``targets[starts[i]:starts[i + 1]]``. In 32 bits: gathers move half the bytes."""

    step: int
    starts: np.ndarray
    targets: np.ndarray

    @classmethod
    def of(cls, pairs: np.ndarray, size: int, step: int) -> _Adjacency:
        starts = np.zeros(size + 1, np.int32)
        np.cumsum(np.bincount(pairs[:, 0], minlength=size), out=starts[1:])
        return cls(step, starts, pairs[np.argsort(pairs[:, 0], kind="stable"), 1])

    def targets_of(self, frontier: np.ndarray) -> np.ndarray:
        """Every target of the frontier's rows (with repeats), gathered without a Python loop."""
        first = self.starts[frontier]
        counts = self.starts[frontier + 1] - first
        # Target j of a row sits at the row's first plus j: shift each row, then count along.
        at = np.repeat(first - (np.cumsum(counts, dtype=np.int32) - counts), counts)
        at += np.arange(len(at), dtype=np.int32)
        return self.targets[at]


def _breadth_first(graphs: list[_Adjacency], start: int, size: int,
                   cutoff: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Shortest distances by Dial's algorithm (steps are small integers): the nodes first found
    at the lowest pending level settle there, all of a level at once. Returns the positions
    reached, nearest first, and the distance by position (-1: not reached)."""
    distance = np.full(size, -1, np.int32)
    distance[start] = 0
    frontier = np.array([start], np.int32)
    levels, pending, level = [frontier], defaultdict(list), 0
    while True:
        for graph in graphs:
            if frontier.size and (cutoff is None or level + graph.step <= cutoff):
                pending[level + graph.step].append(graph.targets_of(frontier))
        if not pending:
            return np.concatenate(levels), distance
        level = min(pending)
        frontier = _unseen(np.concatenate(pending.pop(level)), distance)
        distance[frontier] = level
        levels.append(frontier)


def _unseen(found: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """The nodes of ``found`` not reached yet, each once. Without a sort: each writes its own
    place into ``distance`` (below -1, so still unreached), and a repeat keeps the last place
    written; the caller then sets their distance."""
    found = found[distance[found] == -1]
    places = -2 - np.arange(len(found), dtype=np.int32)
    distance[found] = places
    return found[distance[found] == places]


class Reached(Mapping[str, int]):
    """Shortest distances of a walk, nearest first, kept as arrays of index positions: a hub's
    answer is hundreds of thousands of nodes, and a page of impact reads only its first few."""

    _CHUNK = 4096  # names made per step of an iteration

    def __init__(self, topology: Topology, order: np.ndarray, distance: np.ndarray) -> None:
        self._topology = topology
        self._order = order  # positions reached, nearest first
        self._distance = distance  # by position; -1 where not reached

    def __len__(self) -> int:
        return len(self._order)

    def rank(self, node: str) -> int:
        """Where ``node`` sorts by (kind, name, id) among the nodes of the graph."""
        return self._topology.position[node]

    def __getitem__(self, node: str) -> int:
        at = self._topology.position.get(node)
        if at is None or self._distance[at] < 0:
            raise KeyError(node)
        return int(self._distance[at])

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self._order), self._CHUNK):
            yield from self._topology.ids[self._order[start: start + self._CHUNK]].tolist()

    def items(self) -> ItemsView[str, int]:
        return _ReachedItems(self)

    def pairs(self) -> Iterator[tuple[str, int]]:
        for start in range(0, len(self._order), self._CHUNK):
            chunk = self._order[start: start + self._CHUNK]
            yield from zip(self._topology.ids[chunk].tolist(), self._distance[chunk].tolist(), strict=True)


class _ReachedItems(ItemsView[str, int]):
    """Pairs made a chunk at a time, not by a lookup per name (a whole view reads them all)."""

    _mapping: Reached

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return self._mapping.pairs()


class Shapes:
    """A store's graph shape for walks, kept for one generation at a time and loaded again when
    the generation moves: in the caller's thread (``wait``), or in a background thread while the
    store answers walks its own way (a million edges take seconds to load; a page must not)."""

    def __init__(self, load: Callable[[], Topology]) -> None:
        self._load = load  # reads the generation and the shape in one read transaction
        self._current: Topology | None = None
        self._lock = threading.Lock()  # one load at a time
        self._starting = threading.Lock()  # one background loader at a time
        self._loader: threading.Thread | None = None

    def current(self, generation: int, *, wait: bool) -> Topology | None:
        """The shape of ``generation``: loaded now with ``wait``; else the one held if it is of
        that generation, or None after starting a load in the background."""
        held = self._current
        if held is not None and held.generation == generation:
            return held
        if not wait:
            self.warm()
            return None
        with self._lock:
            held = self._current
            if held is None or held.generation != generation:
                self._current = None  # let the old one go before loading the new
                held = self._current = self._load()
        return held

    def warm(self) -> threading.Thread:
        """Load the shape in a background thread, unless one is loading it now."""
        with self._starting:
            if self._loader is None or not self._loader.is_alive():
                self._loader = threading.Thread(target=self._load_quietly, name="lineage-shape", daemon=True)
                self._loader.start()
            return self._loader

    def _load_quietly(self) -> None:
        with self._lock:
            self._current = None  # let the old one go before loading the new
            try:
                self._current = self._load()
            except Exception:  # noqa: BLE001 - walks go on the store's other way; the next one retries
                return
