"""A lineage view read only around some of its nodes: what a page that draws a few dozen nodes
of a walk reaching hundreds of thousands needs (a hub at depth 10).

:class:`Surroundings` walks up- and downstream of a root once (the distances only: the store
answers them in arrays) and then reads, for the nodes it is asked about, their edges that the
walks crossed and the nodes at the other ends. Its view of some nodes holds exactly the edges of
:func:`graph.lineage.neighbourhood`'s view that touch them, with their ends: whatever depends only
on those nodes' surroundings (which neighbours a page draws, the edges among them) comes out the
same as from the whole view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graph.errors import NodeNotFoundError
from graph.lineage import LineageView, _Walk
from graph.model import Edge, Node
from graph.store import Store


class Surroundings:
    """The walks ``upstream`` and ``downstream`` jobs deep from ``root`` (the live graph), and
    what has been read around the nodes asked about so far."""

    def __init__(self, store: Store, root: str, upstream: int, downstream: int) -> None:
        root_node = store.node(root)
        if root_node is None:
            raise NodeNotFoundError(root, [])
        self._store = store
        self.root = root_node
        self._walks = [(walk, walk.distances(store, None)) for walk in (
            _Walk.of(root_node, "upstream", upstream), _Walk.of(root_node, "downstream", downstream))]
        self._kinds = sorted({kind for walk, _ in self._walks for kind in (*walk.outgoing, *walk.incoming)})
        self._read: set[str] = set()
        self._edges: dict[tuple[str, str, str], Edge] = {}
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
        self._read_around([node for node in dict.fromkeys(around) if node not in self._read])
        nodes = {node: found for node, found in self._nodes.items() if found is not None and node in self._distance}
        edges = [edge for key, edge in sorted(self._edges.items()) if edge.src in nodes and edge.dst in nodes]
        return LineageView(root=self.root.id, direction="both", nodes=nodes,
                           distance={node: self._distance[node] for node in nodes}, edges=tuple(edges))

    def _read_around(self, wanted: list[str]) -> None:
        if not wanted:
            return
        self._read.update(wanted)

        def new_and_crossed(key: tuple[str, str, str]) -> bool:
            return key not in self._edges and any(walk.crosses(best, key) for walk, best in self._walks)

        touching = {edge.key: edge for edge in self._store.neighbors(wanted, outgoing=self._kinds,
                                                                     incoming=self._kinds, crossing=new_and_crossed)}
        for walk, best in self._walks:
            kinds = {*walk.outgoing, *walk.incoming}
            self._edges.update((edge.key, edge) for edge in walk.crossed(best, (e for e in touching.values()
                                                                                   if e.kind in kinds)))
        ends = [end for edge in self._edges.values() for end in (edge.src, edge.dst) if end not in self._nodes]
        ends = list(dict.fromkeys(ends))
        found = {node.id: node for node in self._store.nodes(ids=ends)}
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
