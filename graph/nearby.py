"""A lineage view read only around some of its nodes: what a page that draws a few dozen nodes
of a walk reaching hundreds of thousands needs (a hub at depth 10).

:class:`Surroundings` walks up- and downstream of a root once (the distances only: the store
answers them in arrays) and then reads, for the nodes it is asked about, the keys of their edges
that the walks crossed and the nodes at the other ends (whole edges only where asked for). Its view
of some nodes holds exactly the edges of :func:`graph.lineage.neighbourhood`'s view that touch
them, with their ends: whatever depends only on those nodes' surroundings (which neighbours a page
draws, the edges among them) comes out the same as from the whole view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graph.errors import NodeNotFoundError
from graph.lineage import LineageView, _Walk
from graph.model import Edge, Node
from graph.store import EdgeKey, Store


class Surroundings:
    """The walks ``upstream`` and ``downstream`` jobs deep from ``root`` (the live graph), and
    what has been read around the nodes asked about so far: the keys of the edges crossed, the
    nodes at their ends, and whole the edges asked for whole."""

    def __init__(self, store: Store, root: str, upstream: int, downstream: int) -> None:
        root_node = store.node(root)
        if root_node is None:
            raise NodeNotFoundError(root, [])
        self._store = store
        self.root = root_node
        self._walks = [(walk, walk.distances(store, None)) for walk in (
            _Walk.of(root_node, "upstream", upstream), _Walk.of(root_node, "downstream", downstream))]
        self._crossing = [(walk, best, frozenset((*walk.outgoing, *walk.incoming))) for walk, best in self._walks]
        self.kinds = tuple(sorted({kind for _, _, kinds in self._crossing for kind in kinds}))
        self._read: set[tuple[str, str, bool]] = set()  # (node, kind, at the source end) read around
        self._keys: set[EdgeKey] = set()  # of the edges the walks crossed, at the nodes read around
        self._at: dict[str, list[EdgeKey]] = {}  # those keys by each end
        self._edges: dict[EdgeKey, Edge] = {}  # the edges read whole
        self._nodes: dict[str, Node | None] = {root: root_node}
        self._distance: dict[str, int] = {root: 0}  # in jobs, upstream negative, of the nodes read

    def reached(self) -> int:
        """How many nodes the walks reached (a node reached both ways counts twice)."""
        return sum(len(best) for _, best in self._walks)

    def everything(self) -> LineageView:
        """The whole view: read around every node reached."""
        return self.view(node for _, best in self._walks for node in best)

    def view(self, around: Iterable[str]) -> LineageView:
        """The view of both walks (upstream distances negative) cut down to the edges touching
        ``around`` (and those touching the nodes read before), with the nodes at their ends."""
        self.read(around, outgoing=self.kinds, incoming=self.kinds)
        return self.view_of(self._keys, self._nodes)

    def read(self, around: Iterable[str], *, outgoing: Sequence[str], incoming: Sequence[str]) -> list[EdgeKey]:
        """The keys of the edges the walks crossed that leave a node of ``around`` by an
        ``outgoing`` kind or arrive at one by an ``incoming`` kind (each node read around once for
        each kind and end), the nodes at their ends known after (see :meth:`node`): a page grows
        its graph from the root reading only around the nodes it places, the way it places them."""
        wanted = list(dict.fromkeys(around))
        outgoing, incoming = [k for k in outgoing if k in self.kinds], [k for k in incoming if k in self.kinds]
        self._read_around(wanted, outgoing, incoming)
        return list(dict.fromkeys(key for node in wanted for key in self._at.get(node, ())
                                  if (key[0] == node and key[1] in outgoing)
                                  or (key[2] == node and key[1] in incoming)))

    def node(self, node_id: str) -> Node | None:
        """A node read (the root, or an end of an edge read), None if it is not one or not in the view."""
        found = self._nodes.get(node_id)
        return found if found is not None and node_id in self._distance else None

    def view_of(self, keys: Iterable[EdgeKey], nodes: Iterable[str] = ()) -> LineageView:
        """The view holding the edges of these keys (read before; read whole now) whose ends are
        nodes of the view, with those ends, the root and ``nodes`` (those of them in the view);
        edges in key order, as in the whole view."""
        held = sorted(key for key in keys if self.node(key[0]) and self.node(key[2]))
        self._read_whole(held)
        edges = [self._edges[key] for key in held if key in self._edges]  # (or removed since)
        ends = (end for edge in edges for end in (edge.src, edge.dst))
        found = {node: known for node in (self.root.id, *nodes, *ends) if (known := self.node(node)) is not None}
        return LineageView(root=self.root.id, direction="both", nodes=found,
                           distance={node: self._distance[node] for node in found}, edges=tuple(edges))

    def _read_around(self, wanted: list[str], outgoing: Sequence[str], incoming: Sequence[str]) -> None:
        wanted = [node for node in wanted if any((node, kind, True) not in self._read for kind in outgoing)
                  or any((node, kind, False) not in self._read for kind in incoming)]
        if not wanted:
            return
        self._read.update((node, kind, end) for node in wanted
                          for kinds, end in ((outgoing, True), (incoming, False)) for kind in kinds)
        new = [key for key in dict.fromkeys(self._store.edge_keys(wanted, outgoing=outgoing, incoming=incoming))
               if key not in self._keys and self._crossed(key)]
        self._keys.update(new)
        for key in new:
            self._at.setdefault(key[0], []).append(key)
            if key[2] != key[0]:
                self._at.setdefault(key[2], []).append(key)
        self._read_ends(list(dict.fromkeys(end for key in new for end in (key[0], key[2]) if end not in self._nodes)))

    def _crossed(self, key: EdgeKey) -> bool:
        return any(key[1] in kinds and walk.crosses(best, key) for walk, best, kinds in self._crossing)

    def _read_whole(self, keys: list[EdgeKey]) -> None:
        missing = {key for key in keys if key not in self._edges}
        if missing:  # around their sources, of their kinds: only those rows
            found = self._store.neighbors(sorted({key[0] for key in missing}),
                                          outgoing=sorted({key[1] for key in missing}), crossing=missing.__contains__)
            self._edges.update((edge.key, edge) for edge in found)

    def _read_ends(self, ends: list[str]) -> None:
        found = {node.id: node for node in self._store.nodes(ids=ends)} if ends else {}
        self._nodes.update((node, found.get(node)) for node in ends)
        (_, up), (_, down) = self._walks
        for node in ends:  # as the view of both walks has it: downstream wins
            at = _get(down, node)
            if at is not None:
                self._distance[node] = (at + 1) // 2
            elif (at := _get(up, node)) is not None:
                self._distance[node] = -((at + 1) // 2)


def _get(best: Mapping[str, int], node: str) -> int | None:
    try:
        return best[node]
    except KeyError:
        return None
