"""Lineage questions, written once above the store interface, answered with networkx.

The traversal index is a directed graph of datasets and jobs in the direction data flows
(dataset -> job that reads it -> dataset it writes), rebuilt when the store's generation moves.
Distances count jobs crossed: a dataset one job downstream is at distance 1.
"""

from __future__ import annotations

import dataclasses
import difflib
import threading
from collections.abc import Iterable
from typing import Literal

import networkx as nx

from graph.errors import AmbiguousNameError, NodeNotFoundError
from graph.model import FLOW_EDGES, Edge, Node
from graph.store import Store

Direction = Literal["upstream", "downstream"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LineageView:
    """The part of the graph around a root: nodes with their distance, and the edges among them."""

    root: str
    direction: Literal["upstream", "downstream", "both"]
    nodes: dict[str, Node]
    distance: dict[str, int]
    edges: tuple[Edge, ...]

    def datasets(self) -> list[Node]:
        return sorted((n for n in self.nodes.values() if n.kind == "dataset" and n.id != self.root),
                      key=lambda n: (self.distance[n.id], n.name))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRow:
    node: Node
    distance: int
    last_seen: str | None
    owners: tuple[str, ...]


class LineageIndex:
    """The flow graph of one store, cached until the store changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._generation = -1
        self._graph: nx.DiGraph = nx.DiGraph()

    @property
    def graph(self) -> nx.DiGraph:
        with self._lock:
            generation = self.store.generation()
            if generation != self._generation:
                self._graph = _flow_graph(self.store)
                self._generation = generation
            return self._graph

    def node(self, node_id: str) -> Node:
        data = self.graph.nodes.get(node_id)
        if data is not None:
            return data["node"]
        node = self.store.node(node_id)
        if node is None:
            raise NodeNotFoundError(node_id, [])
        return node


def _flow_graph(store: Store) -> nx.DiGraph:
    graph = nx.DiGraph()
    for kind in ("dataset", "job"):
        for node in store.nodes(kind):
            graph.add_node(node.id, node=node)
    for edge in store.edges(FLOW_EDGES):
        graph.add_edge(edge.src, edge.dst, edge=edge)
    return graph


def resolve(index: LineageIndex, name: str) -> Node:
    """The dataset or job a user means: an id, a full ``namespace/name``, a name or its tail.

    Tails match at dots: ``scores`` and ``ml.scores`` both find ``credit.ml.scores``.
    """
    graph = index.graph
    if name in graph:
        return graph.nodes[name]["node"]
    nodes: list[Node] = [data["node"] for _, data in graph.nodes(data=True)]
    for matches in (
        [n for n in nodes if f"{n.namespace}/{n.name}" == name or n.name == name],
        [n for n in nodes if n.name.endswith("." + name) or n.name.endswith("/" + name)],
        [n for n in nodes if n.kind == "job" and n.label == name],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(name, sorted(f"{n.namespace}/{n.name}" for n in matches))
    close = difflib.get_close_matches(name, sorted({n.name for n in nodes}), n=3, cutoff=0.6)
    raise NodeNotFoundError(name, close)


def lineage(index: LineageIndex, root: str, direction: Direction, depth: int | None = None) -> LineageView:
    """Everything up- or downstream of ``root`` within ``depth`` jobs (all of it when None)."""
    graph = index.graph
    if root not in graph:
        index.node(root)  # raises when the node does not exist at all
        return LineageView(root=root, direction=direction, nodes={}, distance={}, edges=())
    walk = graph.reverse(copy=False) if direction == "upstream" else graph
    cutoff = None if depth is None else 2 * depth
    hops = nx.single_source_shortest_path_length(walk, root, cutoff=cutoff)
    distance = {node_id: (hop + 1) // 2 for node_id, hop in hops.items()}
    nodes = {node_id: graph.nodes[node_id]["node"] for node_id in hops}
    edges = tuple(
        sorted((data["edge"] for src, dst, data in graph.subgraph(hops).edges(data=True)), key=lambda e: e.key)
    )
    return LineageView(root=root, direction=direction, nodes=nodes, distance=distance, edges=edges)


def neighbourhood(index: LineageIndex, root: str, depth: int = 2) -> LineageView:
    """Upstream and downstream of ``root`` together, as the node page draws them."""
    up = lineage(index, root, "upstream", depth)
    down = lineage(index, root, "downstream", depth)
    nodes = {**up.nodes, **down.nodes}
    distance = {**{k: -v for k, v in up.distance.items()}, **down.distance}
    edges = {edge.key: edge for edge in (*up.edges, *down.edges)}
    return LineageView(root=root, direction="both", nodes=nodes, distance=distance,
                       edges=tuple(edges[key] for key in sorted(edges)))


def impact(index: LineageIndex, root: str) -> list[ImpactRow]:
    """What changing ``root`` touches: every downstream dataset and job, nearest first,
    with when it was last used and who owns it (its most frequent writers)."""
    view = lineage(index, root, "downstream")
    rows = []
    for node_id, node in view.nodes.items():
        if node_id == root:
            continue
        incoming = [e for e in view.edges if e.dst == node_id]
        last_seen = max((e.last_seen for e in incoming if e.last_seen), default=node.last_seen)
        rows.append(ImpactRow(node=node, distance=view.distance[node_id], last_seen=last_seen,
                              owners=owners(index.store, node_id)))
    return sorted(rows, key=lambda r: (r.distance, r.node.kind, r.node.name))


def owners(store: Store, node_id: str, limit: int = 3) -> tuple[str, ...]:
    writers = [u for u in store.usage(node_id) if u.role == "write"]
    writers.sort(key=lambda u: (-u.count, u.user))
    return tuple(u.user for u in writers[:limit])


def search(index: LineageIndex, text: str, kind: str | None = None, limit: int = 20) -> list[Node]:
    """Datasets and jobs whose name holds ``text``: exact names first, then names ending in it,
    then the rest; among equals, the more connected first (Goods ranks by fan-out too)."""
    needle = text.strip().lower()
    graph = index.graph
    scored = []
    for node_id, data in graph.nodes(data=True):
        node: Node = data["node"]
        if kind and node.kind != kind:
            continue
        rank = _match_rank(node, needle)
        if rank is not None:
            scored.append((rank, -graph.degree(node_id), node.name, node))
    scored.sort(key=lambda item: item[:3])
    return [node for *_, node in scored[:limit]]


def _match_rank(node: Node, needle: str) -> int | None:
    name = node.name.lower()
    label = (node.label or "").lower()
    if not needle:
        return 3
    if name == needle or name.rsplit(".", 1)[-1] == needle:
        return 0
    if name.endswith(needle):
        return 1
    if needle in name or needle in label:
        return 2
    return None


def edges_of(view: LineageView, node_id: str) -> Iterable[Edge]:
    return (edge for edge in view.edges if node_id in (edge.src, edge.dst))
