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
        self.sorted_size = len(ids)  # positions past it were added by patches, or end no node of END_KINDS
        self.late: dict[str, tuple[Any, ...]] = {}  # where the nodes added by patches sort (see rank)
        self._codes: np.ndarray | None = None

    @property
    def codes(self) -> np.ndarray:
        """Each edge as one sorted 64-bit number (src, dst, kind): what a patch looks edges up by."""
        if self._codes is None:
            self._codes = np.sort(_code(self.ends[:, 0], self.ends[:, 1], self.kinds))
        return self._codes

    def patched(self, generation: int, added: Sequence[tuple[str, str, str]], removed: Sequence[tuple[str, str, str]],
                late: Mapping[str, tuple[Any, ...]]) -> Topology:
        """This shape with a write's walk edges ``(src, kind, dst)`` made live or removed, as the
        shape of ``generation``, without reading the graph again; ``late`` places the nodes made
        live that sort among the others (see ``rank``). Walks built already are patched too: a
        row of edges moves in memory, it is not sorted again."""
        ids: list[str] = []
        position = self.position.copy()
        for src, _, dst in added:
            for end in (src, dst):
                if end not in position:
                    position[end] = len(self.ids) + len(ids)
                    ids.append(end)
        size = len(self.ids) + len(ids)
        plus = self._coded(added, position)
        minus = self._coded(removed, position)
        codes = self.codes
        plus = plus[~_among(plus, codes)]  # made live: those not live already
        minus = minus[_among(minus, codes)]
        codes = np.delete(codes, np.searchsorted(codes, minus))
        codes = np.insert(codes, np.searchsorted(codes, plus), plus)
        shape = Topology.__new__(Topology)
        shape.generation = generation
        shape.ids = np.concatenate([self.ids, np.array(ids, dtype=object)]) if ids else self.ids
        shape.position = position
        shape.ends = np.stack([codes >> 34, (codes >> 3) & 0x7FFFFFFF], axis=1).astype(np.int32)
        shape.kinds = (codes & 7).astype(np.int8)
        shape.sorted_size = self.sorted_size
        shape.late = {**self.late, **late}
        shape._codes = codes
        # A walk that gains a step it had no edges at is built again when asked for.
        shape.walks = {key: [graph.patched(size, _walked(key, graph.step, plus), _walked(key, graph.step, minus))
                             for graph in graphs]
                       for key, graphs in list(self.walks.items())  # (a page may be adding one)
                       if {graph.step for graph in graphs} >= _steps_walked(key, plus)}
        return shape

    @staticmethod
    def _coded(edges: Sequence[tuple[str, str, str]], position: Mapping[str, int]) -> np.ndarray:
        known = [(position[src], position[dst], KINDS.index(kind)) for src, kind, dst in edges
                 if kind in KINDS and src in position and dst in position]
        if not known:
            return np.empty(0, np.int64)
        src, dst, kind = np.array(known, np.int64).T
        return np.unique(_code(src, dst, kind))

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

    def patched(self, size: int, plus: np.ndarray, minus: np.ndarray) -> _Adjacency:
        """These rows for ``size`` nodes, with the pairs ``minus`` taken out and ``plus`` put in at
        the ends of their rows: moves in memory, no sort of the whole."""
        starts, targets = self.starts, self.targets
        if len(starts) < size + 1:
            starts = np.concatenate([starts, np.full(size + 1 - len(starts), starts[-1], np.int32)])
        if len(minus):
            pairs, repeats = np.unique(minus, axis=0, return_counts=True)
            at = [starts[row] + np.flatnonzero(targets[starts[row]: starts[row + 1]] == target)[:times]
                  for (row, target), times in zip(pairs.tolist(), repeats.tolist(), strict=True)]
            targets = np.delete(targets, np.concatenate(at))
            starts = starts - _before(minus[:, 0], size)
        if len(plus):
            rows = plus[:, 0]
            order = np.argsort(rows, kind="stable")
            targets = np.insert(targets, starts[rows[order] + 1], plus[order, 1].astype(np.int32))
            starts = starts + _before(rows, size)
        return _Adjacency(self.step, starts, targets)

    def targets_of(self, frontier: np.ndarray) -> np.ndarray:
        """Every target of the frontier's rows (with repeats), gathered without a Python loop."""
        first = self.starts[frontier]
        counts = self.starts[frontier + 1] - first
        # Target j of a row sits at the row's first plus j: shift each row, then count along.
        at = np.repeat(first - (np.cumsum(counts, dtype=np.int32) - counts), counts)
        at += np.arange(len(at), dtype=np.int32)
        return self.targets[at]


def _before(rows: np.ndarray, size: int) -> np.ndarray:
    """For each row of ``size`` (and the end), how many of ``rows`` come before it."""
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=size))]).astype(np.int32)


def _among(wanted: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Which of ``wanted`` are in the sorted ``codes`` (a search each: no pass over ``codes``)."""
    if not len(codes):
        return np.zeros(len(wanted), bool)
    return codes[np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)] == wanted


def _code(src: np.ndarray, dst: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Edges as numbers that sort by source: 29 bits of source, 31 of target, 3 of kind."""
    return (src.astype(np.int64) << 34) | (dst.astype(np.int64) << 3) | kind.astype(np.int64)


def _walked(key: tuple[Any, ...], step: int, codes: np.ndarray) -> np.ndarray:
    """Of these coded edges, those a walk ``key`` takes at ``step``, as pairs in the walk's direction."""
    outgoing, incoming, steps = key
    cost = dict(steps)
    src, dst, kind = codes >> 34, (codes >> 3) & 0x7FFFFFFF, codes & 7
    pairs = [np.stack(ends, axis=1)[kind == KINDS.index(name)]
             for names, ends in ((outgoing, (src, dst)), (incoming, (dst, src)))
             for name in names if name in KINDS and cost[name] == step]
    return np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)


def _steps_walked(key: tuple[Any, ...], codes: np.ndarray) -> set[int]:
    """The steps at which a walk ``key`` takes any of these coded edges."""
    outgoing, incoming, steps = key
    cost = dict(steps)
    present = set((codes & 7).tolist())
    return {cost[name] for name in (*outgoing, *incoming) if name in KINDS and KINDS.index(name) in present}


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

    def rank(self, node: str) -> Any:
        """Where ``node`` sorts by (kind, name, id) among the nodes of the graph: its position, or
        once patches have added nodes, (position,) or a late node's (position before it, kind,
        name, id)."""
        topology = self._topology
        if not topology.late:
            return topology.position[node]
        return topology.late.get(node) or (topology.position[node],)

    def __getitem__(self, node: str) -> int:
        at = self._topology.position.get(node)
        if at is None or self._distance[at] < 0:
            raise KeyError(node)
        return int(self._distance[at])

    def get(self, node: str, default: Any = None) -> Any:
        """(Without raising and catching a KeyError for each node not reached: walks ask often.)"""
        at = self._topology.position.get(node)
        if at is None:
            return default
        distance = int(self._distance[at])
        return default if distance < 0 else distance

    def __contains__(self, node: object) -> bool:
        return self.get(node) is not None  # type: ignore[arg-type]

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
    """A store's graph shape for walks, kept for one generation at a time. When the generation
    moves, the shape held is patched with the writes since (``patch``: cheap, in the caller's
    thread) where the store can say what they changed, else loaded again: in the caller's thread
    (``wait``), or in a background thread while the store answers walks its own way (a million
    edges take seconds to load; a page must not)."""

    def __init__(self, load: Callable[[], Topology],
                 patch: Callable[[Topology], Topology | None] | None = None) -> None:
        self._load = load  # reads the generation and the shape in one read transaction
        self._patch = patch  # the shape held, brought to the store's generation; None if it cannot be
        self._current: Topology | None = None
        self._lock = threading.Lock()  # one load at a time
        self._patching = threading.Lock()  # one patch at a time
        self._starting = threading.Lock()  # one background loader at a time
        self._loader: threading.Thread | None = None
        self.loads = 0  # shapes loaded whole (a patch is not a load)

    def current(self, generation: int, *, wait: bool) -> Topology | None:
        """The shape of ``generation`` (or a later one): the one held if it is, or the one held
        patched; else loaded now with ``wait``, or None after starting a load in the background."""
        held = self._current
        if held is not None and held.generation >= generation:
            return held
        patched = self._patched(generation)
        if patched is not None and patched.generation >= generation:
            return patched
        if not wait:
            self.warm()
            return None
        with self._lock:
            held = self._current
            if held is None or held.generation < generation:
                self._current = None  # let the old one go before loading the new
                held = self._current = self._loaded()
        return held

    def _patched(self, generation: int) -> Topology | None:
        """The shape held, patched up to the store's generation (by one thread; the others then
        find it patched), or None if there is none or it cannot be patched."""
        if self._patch is None:
            return None
        with self._patching:
            held = self._current
            if held is None or held.generation >= generation:
                return held
            try:
                patched = self._patch(held)
            except Exception:  # noqa: BLE001 - a shape that cannot be patched is loaded again
                return None
            if patched is not None and self._current is held:
                self._current = patched
            return patched

    def warm(self) -> threading.Thread:
        """Load the shape in a background thread, unless one is loading it now."""
        with self._starting:
            if self._loader is None or not self._loader.is_alive():
                self._loader = threading.Thread(target=self._load_quietly, name="lineage-shape", daemon=True)
                self._loader.start()
            return self._loader

    def finish(self) -> None:
        """Wait for a background load to end: a store whose loader reads through its own
        connections (Neo4j's driver) closes them after it, not under it."""
        with self._starting:
            loader = self._loader
        if loader is not None:
            loader.join()

    def _loaded(self) -> Topology:
        self.loads += 1
        return self._load()

    def _load_quietly(self) -> None:
        with self._lock:
            self._current = None  # let the old one go before loading the new
            try:
                self._current = self._loaded()
            except Exception:  # noqa: BLE001 - walks go on the store's other way; the next one retries
                return
