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

from collections.abc import Iterable, Mapping, Sequence

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
        self.kinds = tuple(sorted({kind for walk, _ in self._walks for kind in (*walk.outgoing, *walk.incoming)}))
        self._read: set[tuple[str, str, bool]] = set()  # (node, kind, at the source end) read around
        self._edges: dict[tuple[str, str, str], Edge] = {}
        self._at: dict[str, list[Edge]] = {}  # the edges read, by each end
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
        self._read_around(list(dict.fromkeys(around)), self.kinds, self.kinds)
        return self.view_of(self._edges.values(), self._nodes)

    def read(self, around: Iterable[str], *, outgoing: Sequence[str], incoming: Sequence[str]) -> list[Edge]:
        """The edges the walks crossed that leave a node of ``around`` by an ``outgoing`` kind or
        arrive at one by an ``incoming`` kind (each node read around once for each kind and end),
        the nodes at their ends known after (see :meth:`node`): a page grows its graph from the
        root reading only around the nodes it places, and only the way it places them."""
        wanted = list(dict.fromkeys(around))
        outgoing, incoming = [k for k in outgoing if k in self.kinds], [k for k in incoming if k in self.kinds]
        self._read_around(wanted, outgoing, incoming)
        return list({edge.key: edge for node in wanted for edge in self._at.get(node, ())
                     if (edge.src == node and edge.kind in outgoing) or (edge.dst == node and edge.kind in incoming)}
                    .values())

    def node(self, node_id: str) -> Node | None:
        """A node read (the root, or an end of an edge read), None if it is not one or not in the view."""
        found = self._nodes.get(node_id)
        return found if found is not None and node_id in self._distance else None

    def view_of(self, edges: Iterable[Edge], nodes: Iterable[str] = ()) -> LineageView:
        """The view holding these edges (read before) whose ends are nodes of the view, with
        those ends, the root and ``nodes`` (those of them in the view); edges in key order, as in
        the whole view."""
        held = {edge.key: edge for edge in edges if self.node(edge.src) and self.node(edge.dst)}
        ends = (end for edge in held.values() for end in (edge.src, edge.dst))
        found = {node: known for node in (self.root.id, *nodes, *ends) if (known := self.node(node)) is not None}
        return LineageView(root=self.root.id, direction="both", nodes=found,
                           distance={node: self._distance[node] for node in found},
                           edges=tuple(held[key] for key in sorted(held)))

    def _read_around(self, wanted: list[str], outgoing: Sequence[str], incoming: Sequence[str]) -> None:
        wanted = [node for node in wanted if any((node, kind, True) not in self._read for kind in outgoing)
                  or any((node, kind, False) not in self._read for kind in incoming)]
        if not wanted:
            return
        self._read.update((node, kind, end) for node in wanted
                          for kinds, end in ((outgoing, True), (incoming, False)) for kind in kinds)

        def new_and_crossed(key: tuple[str, str, str]) -> bool:
            return key not in self._edges and any(walk.crosses(best, key) for walk, best in self._walks)

        touching = {edge.key: edge for edge in self._store.neighbors(wanted, outgoing=outgoing, incoming=incoming,
                                                                     crossing=new_and_crossed)}
        new: list[Edge] = []
        for walk, best in self._walks:
            kinds = {*walk.outgoing, *walk.incoming}
            new += walk.crossed(best, (edge for key, edge in touching.items() if edge.kind in kinds
                                       and key not in self._edges))
            self._edges.update((edge.key, edge) for edge in new)
        for edge in new:
            self._at.setdefault(edge.src, []).append(edge)
            if edge.dst != edge.src:
                self._at.setdefault(edge.dst, []).append(edge)
        self._read_ends(list(dict.fromkeys(end for edge in new for end in (edge.src, edge.dst)
                                           if end not in self._nodes)))

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
