"""Lineage questions, written once above the store interface.

Traversal asks the store for one layer of neighbours at a time, so it works the same on SQLite
and on Neo4j, and reads only the part of the graph it needs. Distances count jobs crossed: a
dataset one job downstream is at distance 1 (reads and writes are half a step each; a model
trained on a dataset, or a column derived from another, is one step).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Collection
from typing import Literal

import networkx as nx

from graph.errors import AmbiguousNameError, NodeNotFoundError
from graph.model import EDGE_KINDS, Edge, Node
from graph.store import Store

Direction = Literal["upstream", "downstream"]

# How data moves along each kind of edge: +1 from src to dst, -1 from dst to src.
DATASET_FLOW = {"READS": 1, "WRITES": 1, "TRAINED_ON": -1}
COLUMN_FLOW = {"DERIVES": 1}
HALF_STEPS = {"READS": 1, "WRITES": 1, "TRAINED_ON": 2, "DERIVES": 2}
MAX_PATH_DEPTH = 30


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LineageView:
    """The part of the graph around a root: nodes with their distance, and the edges among them.
    Upstream distances are negative when a view holds both directions."""

    root: str
    direction: Literal["upstream", "downstream", "both"]
    nodes: dict[str, Node]
    distance: dict[str, int]
    edges: tuple[Edge, ...]

    def graph(self) -> nx.DiGraph:
        """The view as a networkx graph in the direction data flows."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        for edge in self.edges:
            src, dst = (edge.src, edge.dst) if _flow_of(edge.kind) > 0 else (edge.dst, edge.src)
            graph.add_edge(src, dst, edge=edge)
        return graph


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRow:
    node: Node
    distance: int
    last_seen: str | None
    owners: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    edge: Edge
    appeared: str | None
    last_seen: str | None
    stale_since: str | None
    disappeared: str | None


def _flow_of(kind: str) -> int:
    return DATASET_FLOW.get(kind) or COLUMN_FLOW.get(kind) or 1


def lineage(store: Store, root: str, direction: Direction, depth: int | None = None, *,
            as_of: str | None = None, kinds: Collection[str] | None = None) -> LineageView:
    """Everything up- or downstream of ``root`` within ``depth`` jobs (all of it when None),
    as the graph was at ``as_of`` (now when None), keeping only nodes of ``kinds`` (and the root)."""
    root_node = store.node(root)
    if root_node is None:
        raise NodeNotFoundError(root, [])
    flow = COLUMN_FLOW if root_node.kind == "column" else DATASET_FLOW
    half_steps, edges = _walk(store, root, flow, direction, None if depth is None else 2 * depth, as_of)
    found = {node.id: node for node in store.nodes(ids=list(half_steps), include_removed=as_of is not None)
             if node.removed_at is None or (as_of is not None and node.removed_at > as_of)}
    found[root] = root_node
    keep = {n for n, node in found.items() if kinds is None or node.kind in kinds or n == root}
    # Nearest first; callers that need another order sort (the view can be large: no sorting here).
    return LineageView(
        root=root, direction=direction,
        nodes={n: found[n] for n in half_steps if n in keep},
        distance={n: (half_steps[n] + 1) // 2 for n in half_steps if n in keep},
        edges=tuple(e for e in edges if e.src in keep and e.dst in keep),
    )


def _walk(store: Store, root: str, flow: dict[str, int], direction: Direction, cutoff: int | None,
          as_of: str | None) -> tuple[dict[str, int], list[Edge]]:
    """Shortest half-step distances from ``root`` (a bucketed Dijkstra: steps are 1 or 2)."""
    sign = 1 if direction == "downstream" else -1
    outgoing = frozenset(kind for kind, way in flow.items() if way == sign)
    incoming = frozenset(kind for kind, way in flow.items() if way == -sign)
    best = {root: 0}
    buckets: dict[int, set[str]] = {0: {root}}
    edges: dict[tuple[str, str, str], Edge] = {}
    while buckets:
        level = min(buckets)
        frontier = {node for node in buckets.pop(level) if best[node] == level}
        for edge in store.neighbors(frontier, outgoing=tuple(outgoing), incoming=tuple(incoming), as_of=as_of):
            forward = edge.src in frontier and edge.kind in outgoing
            other = edge.dst if forward else edge.src
            reached = level + HALF_STEPS.get(edge.kind, 2)
            if cutoff is not None and reached > cutoff:
                continue
            edges[(edge.src, edge.kind, edge.dst)] = edge
            if reached < best.get(other, reached + 1):
                best[other] = reached
                buckets.setdefault(reached, set()).add(other)
    return best, list(edges.values())


def neighbourhood(store: Store, root: str, depth: int = 2, *, as_of: str | None = None) -> LineageView:
    """Upstream and downstream of ``root`` together, as the node page draws them."""
    up = lineage(store, root, "upstream", depth, as_of=as_of)
    down = lineage(store, root, "downstream", depth, as_of=as_of)
    distance = {**{k: -v for k, v in up.distance.items()}, **down.distance}
    edges = {edge.key: edge for edge in (*up.edges, *down.edges)}
    return LineageView(root=root, direction="both", nodes={**up.nodes, **down.nodes}, distance=distance,
                       edges=tuple(edges[key] for key in sorted(edges)))


def impact(store: Store, root: str) -> list[ImpactRow]:
    """What changing ``root`` touches: every downstream dataset, job and model, nearest first,
    with when it was last used and who owns it (its most frequent writers)."""
    view = lineage(store, root, "downstream")
    last_use: dict[str, str] = {}
    for edge in view.edges:
        target = edge.dst if _flow_of(edge.kind) > 0 else edge.src
        if edge.last_seen and edge.last_seen > last_use.get(target, ""):
            last_use[target] = edge.last_seen
    rows = [
        ImpactRow(node=node, distance=view.distance[node_id], last_seen=last_use.get(node_id, node.last_seen),
                  owners=owners(store, node_id))
        for node_id, node in view.nodes.items() if node_id != root
    ]
    return sorted(rows, key=lambda r: (r.distance, r.node.kind, r.node.name))


def owners(store: Store, node_id: str, limit: int = 3) -> tuple[str, ...]:
    writers = sorted((u for u in store.usage(node_id) if u.role == "write"), key=lambda u: (-u.count, u.user))
    return tuple(u.user for u in writers[:limit])


def top_users(store: Store, node_id: str, limit: int = 5) -> tuple[str, ...]:
    readers = sorted((u for u in store.usage(node_id) if u.role == "read"), key=lambda u: (-u.count, u.user))
    return tuple(u.user for u in readers[:limit])


def path(store: Store, source: str, target: str, *, as_of: str | None = None) -> list[Node]:
    """The shortest chain of datasets and jobs along which data goes from ``source`` to
    ``target`` (either way round); empty when they are not connected."""
    for start, end in ((source, target), (target, source)):
        view = lineage(store, start, "downstream", MAX_PATH_DEPTH, as_of=as_of)
        if end in view.nodes:
            return [view.nodes[n] for n in nx.shortest_path(view.graph(), start, end)]
    return []


def history(store: Store, node_id: str) -> list[HistoryRow]:
    """When each edge of a node appeared, was last seen, went stale and disappeared."""
    every = EDGE_KINDS
    edges = store.neighbors([node_id], outgoing=every, incoming=every, include_removed=True)
    rows = [HistoryRow(edge=e, appeared=e.first_seen, last_seen=e.last_seen, stale_since=e.stale_since,
                       disappeared=e.removed_at) for e in {e.key: e for e in edges}.values()]
    return sorted(rows, key=lambda r: (r.appeared or "", r.edge.key))


def resolve(store: Store, name: str) -> Node:
    """The node a user means: an id, a full ``namespace/name``, a name, or a dotted tail of one
    (``scores`` and ``ml.scores`` both find ``credit.ml.scores``), or a job's title."""
    direct = store.node(name)
    if direct is not None and direct.removed_at is None:
        return direct
    if "#" in name:  # a column: TABLE#COLUMN, the table named any way a dataset can be
        table, column = name.rsplit("#", 1)
        dataset = resolve(store, table)
        found = store.node(f"column:{dataset.namespace}/{dataset.name}#{column}")
        if found is None:
            raise NodeNotFoundError(name, [])
        return found
    for kind in ("dataset", "job"):
        node = store.node(f"{kind}:{name}")
        if node is not None and node.removed_at is None:
            return node
    candidates = [n for n in store.find(name, limit=5000) if n.kind in ("dataset", "job", "model", "model_version")]
    for matches in (
        [n for n in candidates if n.name == name or n.label == name],
        [n for n in candidates if n.name.endswith(("." + name, "/" + name))],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousNameError(name, sorted(f"{n.namespace}/{n.name}" for n in matches))
    raise NodeNotFoundError(name, _suggestions(store, name))


def _suggestions(store: Store, name: str) -> list[str]:
    tail = name.rsplit(".", 1)[-1]
    pool = {n.name for prefix in {name[:3], tail[:3]} for n in store.find(prefix, limit=2000)}
    return difflib.get_close_matches(name, sorted(pool), n=3, cutoff=0.6)


def search(store: Store, text: str, kind: str | None = None, limit: int = 20) -> list[Node]:
    """Datasets and jobs whose name holds ``text``: exact names first, then names ending in it,
    then the rest; among equals the higher ranked (Goods ranks by lineage fan-out)."""
    needle = text.strip().lower()
    scored = []
    for node in store.find(needle, kind=kind, limit=max(200, limit * 10)):
        rank = _match_rank(node, needle)
        if rank is not None:
            scored.append((rank, -float(node.props.get("rank", 0.0)), node.name, node))
    scored.sort(key=lambda item: item[:3])
    return [node for *_, node in scored[:limit]]


def _match_rank(node: Node, needle: str) -> int | None:
    name = node.name.lower()
    if not needle:
        return 3
    if name == needle or name.rsplit(".", 1)[-1] == needle:
        return 0
    if name.endswith(needle):
        return 1
    if needle in name or needle in (node.label or "").lower():
        return 2
    return None


def direct_edges(store: Store, node_id: str) -> list[Edge]:
    """A node's own lineage edges (reads, writes, training), as the details panel lists them."""
    kinds = list(DATASET_FLOW)
    return sorted(store.neighbors([node_id], outgoing=kinds, incoming=kinds), key=lambda e: e.key)
