"""Pure functions from lineage views to cytoscape elements: testable without a browser.

A view becomes elements in three steps: :func:`flows` turns its edges into edges in the
direction data moves (folding jobs into labelled dataset-to-dataset edges for analysts),
:func:`keep` picks the nodes to draw (a hub shows its best-ranked neighbours and a "+N more"
node for the rest, and the whole never passes a cap), :func:`elements` writes them out. A view
too big to read whole (a hub at depth 10) is grown instead: :func:`grow` picks the same nodes
reading only around those it places.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

from graph import Edge, LineageView, Node
from graph.nearby import Surroundings
from graph.store import EdgeKey

FLOW = {"READS": 1, "WRITES": 1, "TRAINED_ON": -1, "SERVED": 1, "DERIVES": 1}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GraphOptions:
    """What the node page draws: how far each way, jobs folded or not, as of when, how many
    neighbours a node shows before "+N more", and how many elements the server sends at most."""

    upstream: int = 1
    downstream: int = 1
    datasets_only: bool = True
    as_of: str | None = None  # the graph as it was then (an ISO 8601 time in UTC), now when None
    per_node: int = 8
    max_nodes: int = 80
    max_elements: int = 300

    MAX_DEPTH = 10

    def clamped(self) -> GraphOptions:
        """Depths a client sent, held to 1..10."""
        return dataclasses.replace(self, upstream=clamp_depth(self.upstream), downstream=clamp_depth(self.downstream))


def clamp_depth(depth: Any) -> int:
    try:
        return max(1, min(GraphOptions.MAX_DEPTH, int(depth)))
    except (TypeError, ValueError):
        return 1


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """An edge as drawn: from where data comes to where it goes, with the stored edges behind it."""

    src: str
    dst: str
    kind: str
    parts: tuple[tuple[str, str, str], ...]
    label: str = ""
    count: int = 1

    @property
    def id(self) -> str:
        return "|".join(self.parts[0]) if len(self.parts) == 1 and not self.label else f"{self.src}>{self.dst}"


def node_href(node_id: str) -> str:
    """The page of a node: ``/node/<id>``, the id escaped whole.

    >>> node_href("dataset:postgres://db:5432/credit.ml.scores")
    '/node/dataset%3Apostgres%3A%2F%2Fdb%3A5432%2Fcredit.ml.scores'
    """
    # The part before the name is escaped once per namespace, not once per node (a hub's impact
    # links 200,000 nodes); escaping goes character by character, so the parts join as the whole.
    head, slash, name = node_id.rpartition("/")
    return "/node/" + _escaped(head + slash) + quote(name, safe="")


@functools.lru_cache(maxsize=1024)
def _escaped(text: str) -> str:
    return quote(text, safe="")


def impact_href(node_id: str) -> str:
    """The impact page of a node: ``/impact/<id>``."""
    return "/impact/" + quote(node_id, safe="")


def model_href(model: str, version: str | None = None) -> str:
    """The page of a model (and one of its versions): ``/model/<name>[/<version>]``.

    >>> model_href("credit limit", "3")
    '/model/credit%20limit/3'
    """
    return "/model/" + quote(model, safe="") + (f"/{quote(version, safe='')}" if version else "")


def flows(view: LineageView, *, datasets_only: bool) -> list[Flow]:
    """The view's edges in the direction data moves. With ``datasets_only``, a job between
    datasets becomes the label of an edge from each dataset it reads to each it writes (jobs
    with the same ends share one edge); a job that only reads or only writes is left out, and
    the root is never folded.

    >>> from graph import Edge, Node
    >>> view = LineageView(root="dataset:a", direction="both", distance={"dataset:a": 0, "job:j": 1, "dataset:b": 1},
    ...     nodes={"dataset:a": Node(id="dataset:a", kind="dataset", name="a"),
    ...            "job:j": Node(id="job:j", kind="job", name="j", props={"statement_kind": "INSERT"}),
    ...            "dataset:b": Node(id="dataset:b", kind="dataset", name="b")},
    ...     edges=(Edge(src="dataset:a", kind="READS", dst="job:j"), Edge(src="job:j", kind="WRITES", dst="dataset:b")))
    >>> [(f.src, f.dst, f.label) for f in flows(view, datasets_only=True)]
    [('dataset:a', 'dataset:b', 'INSERT')]
    """
    drawn = [_flow(edge) for edge in view.edges]
    if not datasets_only:
        return drawn
    folded = {view.nodes[n].id for n in view.nodes if view.nodes[n].kind == "job" and n != view.root}
    kept = [f for f in drawn if f.src not in folded and f.dst not in folded]
    into: dict[str, list[Flow]] = {}
    out: dict[str, list[Flow]] = {}
    for flow in drawn:
        if flow.dst in folded:
            into.setdefault(flow.dst, []).append(flow)
        if flow.src in folded:
            out.setdefault(flow.src, []).append(flow)
    pairs: dict[tuple[str, str], list[tuple[str, Flow, Flow]]] = {}
    for job in sorted(folded):
        for before in into.get(job, ()):
            for after in out.get(job, ()):
                if before.src != after.dst:
                    pairs.setdefault((before.src, after.dst), []).append((job, before, after))
    return kept + [_folded(view.nodes, src, dst, jobs) for (src, dst), jobs in sorted(pairs.items())]


class Link(NamedTuple):
    """Where a flow goes, without the edges behind it or its label: all :func:`keep` reads."""

    src: str
    dst: str


class Ends(Protocol):
    @property
    def src(self) -> str: ...

    @property
    def dst(self) -> str: ...


def links(view: LineageView, *, datasets_only: bool) -> set[Link]:
    """The ends of :func:`flows` (which nodes a flow joins), found without making the flows: a
    page placing a hub's neighbours round by round asks for them each round, of thousands of edges.

    >>> from graph import Edge, Node
    >>> view = LineageView(root="dataset:a", direction="both", distance={"dataset:a": 0, "job:j": 1, "dataset:b": 1},
    ...     nodes={"dataset:a": Node(id="dataset:a", kind="dataset", name="a"),
    ...            "job:j": Node(id="job:j", kind="job", name="j"),
    ...            "dataset:b": Node(id="dataset:b", kind="dataset", name="b")},
    ...     edges=(Edge(src="dataset:a", kind="READS", dst="job:j"), Edge(src="job:j", kind="WRITES", dst="dataset:b")))
    >>> links(view, datasets_only=True)
    {Link(src='dataset:a', dst='dataset:b')}
    """
    pairs = [(e.src, e.dst) if FLOW.get(e.kind, 1) > 0 else (e.dst, e.src) for e in view.edges]
    if not datasets_only:
        return {Link(src, dst) for src, dst in pairs}
    folded = {n for n, node in view.nodes.items() if node.kind == "job" and n != view.root}
    found = {Link(src, dst) for src, dst in pairs if src not in folded and dst not in folded}
    into: dict[str, set[str]] = {}
    out: dict[str, set[str]] = {}
    for src, dst in pairs:
        if dst in folded:
            into.setdefault(dst, set()).add(src)
        if src in folded:
            out.setdefault(src, set()).add(dst)
    for job in into.keys() & out.keys():
        found.update(Link(src, dst) for src in into[job] for dst in out[job] if src != dst)
    return found


def _flow(edge: Edge) -> Flow:
    src, dst = (edge.src, edge.dst) if FLOW.get(edge.kind, 1) > 0 else (edge.dst, edge.src)
    return Flow(src=src, dst=dst, kind=edge.kind, parts=(edge.key,), count=edge.count)


def _folded(nodes: Mapping[str, Node], src: str, dst: str, jobs: list[tuple[str, Flow, Flow]]) -> Flow:
    names = sorted({short_label(nodes[job]) for job, _, _ in jobs})
    label = names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")
    parts = tuple(dict.fromkeys(part for _, before, after in jobs for part in (*before.parts, *after.parts)))
    return Flow(src=src, dst=dst, kind="FEEDS", parts=parts, label=label,
                count=sum(after.count for _, _, after in jobs))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class More:
    """Neighbours of ``parent`` on one side that were not drawn: a "+N more" node."""

    parent: str
    side: str  # upstream or downstream
    hidden: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"more:{self.side}:{self.parent}"


def keep(view: LineageView, drawn: Iterable[Ends], options: GraphOptions) -> tuple[list[str], list[More]]:
    """The nodes to draw, root first then breadth first each way, and the "+N more" nodes: of a
    node's new neighbours the ``per_node`` best ranked are drawn, and none past ``max_nodes``."""
    before: dict[str, set[str]] = {}
    after: dict[str, set[str]] = {}
    for flow in drawn:
        after.setdefault(flow.src, set()).add(flow.dst)
        before.setdefault(flow.dst, set()).add(flow.src)
    return _place(view.root, lambda frontier, side: before if side == "upstream" else after, view.nodes.get, options)


# The neighbours of each node of a frontier on one side (upstream: where its data comes from).
NeighboursOf = Callable[[list[str], str], Mapping[str, Iterable[str]]]


def _place(root: str, neighbours: NeighboursOf, node: Callable[[str], Node | None],
           options: GraphOptions) -> tuple[list[str], list[More]]:
    """:func:`keep`'s placing, asking for the neighbours of a frontier when it gets there (of
    nodes ``node`` knows: others are not in the view)."""
    placed = [root]
    seen = {root}
    more: list[More] = []
    for side in ("upstream", "downstream"):
        frontier = [root]
        while frontier:
            ends = neighbours(frontier, side)
            following = []
            for parent in frontier:
                known = {n: found for n in ends.get(parent, ()) if n not in seen and (found := node(n)) is not None}
                new = sorted(known, key=lambda n: _rank_key(known[n]))
                room = max(0, min(options.per_node, options.max_nodes - len(placed)))
                shown, hidden = new[:room], new[room:]
                placed += shown
                seen.update(new)
                following += shown
                if hidden:
                    more.append(More(parent=parent, side=side, hidden=tuple(hidden)))
            frontier = following
    return placed, more


def grow(around: Surroundings, options: GraphOptions) -> tuple[list[str], list[More]]:
    """:func:`keep`'s nodes and "+N more" nodes for the whole view of ``around``, read only
    around the nodes placed, a frontier at a time and only the way each side goes (a hub at depth
    10 reaches 10^5 nodes; its page places ``max_nodes`` and reads around those)."""
    forward = tuple(kind for kind in around.kinds if FLOW.get(kind, 1) > 0)
    backward = tuple(kind for kind in around.kinds if FLOW.get(kind, 1) <= 0)

    def neighbours(frontier: list[str], side: str) -> dict[str, set[str]]:
        # Upstream, data arrives: by a forward kind at the edge's target, a backward one at its source.
        arriving = side == "upstream"
        ways = {"outgoing": backward if arriving else forward, "incoming": forward if arriving else backward}
        near = _flow_ends(around.read(frontier, **ways), side)
        if not options.datasets_only:
            return near
        # As :func:`links` has it: a job (not the root) is folded into links across it.
        folded = {end for ends in near.values() for end in ends if _folded_job(around, end)}
        across = _flow_ends(around.read(list(folded), **ways), side) if folded else {}
        return {node: {end for end in ends if end not in folded and not _folded_job(around, node)}
                | {far for job in ends & folded for far in across.get(job, ()) if far != node}
                for node, ends in near.items()}

    return _place(around.root.id, neighbours, around.node, options)


def drawn_keys(around: Surroundings, placed: list[str], *, datasets_only: bool) -> list[EdgeKey]:
    """The keys of the edges at the nodes ``placed`` that their drawing is made of (see
    :func:`_touching`): those between two of them and, jobs folded, those between one of them and
    a job folded beside two of them. Only these are read whole (not a hub's thousands)."""
    shown = set(placed)
    keys = around.read(placed, outgoing=around.kinds, incoming=around.kinds)
    beside: dict[str, set[str]] = {}
    if datasets_only:
        for src, _, dst in keys:
            for job, other in ((src, dst), (dst, src)):
                if other in shown and job not in shown and _folded_job(around, job):
                    beside.setdefault(job, set()).add(other)
    return [key for key in keys if (key[0] in shown and key[2] in shown)
            or len(beside.get(key[2] if key[0] in shown else key[0], ())) > 1]


def _folded_job(around: Surroundings, node_id: str) -> bool:
    node = around.node(node_id)
    return node is not None and node.kind == "job" and node_id != around.root.id


def _flow_ends(keys: Iterable[EdgeKey], side: str) -> dict[str, set[str]]:
    """For each node these edges leave (downstream) or arrive at (upstream) as data flows, the
    nodes at their other ends."""
    found: dict[str, set[str]] = {}
    for key in keys:
        src, dst = (key[0], key[2]) if FLOW.get(key[1], 1) > 0 else (key[2], key[0])
        near, far = (dst, src) if side == "upstream" else (src, dst)
        found.setdefault(near, set()).add(far)
    return found


def _rank_key(node: Node) -> tuple[float, str]:
    return -float(node.props.get("rank") or 0.0), node.id


def elements(view: LineageView, options: GraphOptions | None = None, *,
             kept: tuple[list[str], list[More]] | None = None) -> list[dict[str, Any]]:
    """Nodes then edges, each classed by kind and by side (upstream, downstream, root), never
    more than ``options.max_elements`` of them; of the nodes :func:`keep` picks, or those ``kept``
    (placed by :func:`grow`: ``view`` need then hold only the edges at them).

    >>> from graph import Edge, Node
    >>> view = LineageView(root="dataset:x/b", direction="both", distance={"dataset:x/b": 0, "job:x/j": -1},
    ...     nodes={"dataset:x/b": Node(id="dataset:x/b", kind="dataset", name="b"),
    ...            "job:x/j": Node(id="job:x/j", kind="job", name="j", label="INSERT b")},
    ...     edges=(Edge(src="job:x/j", kind="WRITES", dst="dataset:x/b"),))
    >>> [(e["data"]["id"], e["classes"]) for e in elements(view, GraphOptions(datasets_only=False))]
    [('dataset:x/b', 'dataset root'), ('job:x/j', 'job upstream'), ('job:x/j|WRITES|dataset:x/b', 'upstream')]
    """
    options = options or GraphOptions()
    placed, more = kept or keep(view, links(view, datasets_only=options.datasets_only), options)
    shown = set(placed)
    drawn = flows(_touching(view, shown, datasets_only=options.datasets_only), datasets_only=options.datasets_only)
    nodes = [_node_element(view, view.nodes[n]) for n in placed]
    nodes += [_more_element(m) for m in more]
    edges = [_edge_element(view, f) for f in drawn if f.src in shown and f.dst in shown]
    edges += [_more_edge(m) for m in more]
    room = max(0, options.max_elements - len(nodes))
    return nodes + edges[:room]


def _touching(view: LineageView, shown: set[str], *, datasets_only: bool) -> LineageView:
    """The view with only the edges a flow between nodes of ``shown`` is made of: between two
    of them, or (jobs folded) between one of them and a job folded (a hub's view holds thousands
    of edges, its page draws a few dozen)."""
    if not datasets_only:
        edges = tuple(e for e in view.edges if e.src in shown and e.dst in shown)
    else:
        folded = {n for n, node in view.nodes.items() if node.kind == "job" and n != view.root}
        near = shown | folded
        edges = tuple(e for e in view.edges if e.src in near and e.dst in near and (e.src in shown or e.dst in shown))
    return dataclasses.replace(view, edges=edges)


def _node_element(view: LineageView, node: Node) -> dict[str, Any]:
    classes = [node.kind]
    if node.props.get("kind") == "view":
        classes.append("view")
    classes.append(_side(view, node.id))
    return {
        "data": {"id": node.id, "label": short_label(node), "kind": node.kind, "href": node_href(node.id)},
        "classes": " ".join(classes),
    }


def _more_element(more: More) -> dict[str, Any]:
    return {
        "data": {"id": more.id, "label": f"+{len(more.hidden)} more", "kind": "more", "parent_id": more.parent,
                 "href": impact_href(more.parent) if more.side == "downstream" else node_href(more.parent)},
        "classes": f"more {more.side}",
    }


def _edge_element(view: LineageView, flow: Flow) -> dict[str, Any]:
    end = flow.src if flow.dst == view.root else flow.dst
    data: dict[str, Any] = {"id": flow.id, "source": flow.src, "target": flow.dst, "kind": flow.kind,
                            "count": flow.count, "parts": ["|".join(p) for p in flow.parts]}
    if flow.label:
        data["label"] = flow.label
    return {"data": data, "classes": _side(view, end) + (" folded" if flow.label else "")}


def _more_edge(more: More) -> dict[str, Any]:
    src, dst = (more.id, more.parent) if more.side == "upstream" else (more.parent, more.id)
    return {"data": {"id": f"{src}>{dst}", "source": src, "target": dst, "kind": "MORE", "parts": []},
            "classes": f"{more.side} more"}


def _side(view: LineageView, node_id: str) -> str:
    if node_id == view.root:
        return "root"
    return "upstream" if view.distance.get(node_id, 0) < 0 else "downstream"


def short_label(node: Node) -> str:
    """Datasets show their name without the database; jobs only what they do (their page and
    the details panel tell the rest), so the graph stays readable.

    >>> short_label(Node(id="dataset:x", kind="dataset", name="credit.ml.scores"))
    'ml.scores'
    """
    if node.kind == "job":
        return str(node.props.get("statement_kind") or node.title)
    if node.kind == "model_version":
        return f"{node.name} v{node.props.get('version', '?')}" if "/" not in node.name else node.name
    parts = node.name.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else node.name


def column_boxes(view: LineageView, built: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A column view as DataHub draws it: a box per table (a compound node) holding a row per
    column, named by the column alone; derivations classed ``direct`` or ``indirect`` (columns
    that only filter, join or group).

    >>> view = LineageView(root="column:n/t#a", direction="both", distance={"column:n/t#a": 0},
    ...     nodes={"column:n/t#a": Node(id="column:n/t#a", kind="column", name="a")}, edges=())
    >>> boxed = column_boxes(view, [{"data": {"id": "column:n/t#a", "kind": "column", "label": "a"},
    ...                              "classes": "column root"}])
    >>> [(e["data"]["id"], e["data"].get("parent"), e["classes"]) for e in boxed]
    [('box:dataset:n/t', None, 'table-box root'), ('column:n/t#a', 'box:dataset:n/t', 'column root')]
    """
    edges = {"|".join(edge.key): edge for edge in view.edges}
    boxes: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for element in built:
        data = element["data"]
        if "source" in data:
            kinds = {("indirect" if edges[p].props.get("indirect") and not edges[p].props.get("direct") else "direct")
                     for p in data.get("parts", ()) if p in edges}
            kind = "direct" if "direct" in kinds or not kinds else "indirect"
            out.append({**element, "classes": f"{element.get('classes', '')} {kind}".strip()})
        elif data.get("kind") == "column" and "#" in data["id"]:
            table = "dataset:" + data["id"].removeprefix("column:").rsplit("#", 1)[0]
            box = boxes.setdefault(table, {"data": {"id": f"box:{table}", "label": table.rsplit("/", 1)[-1],
                                                    "kind": "table", "href": node_href(table)},
                                           "classes": "table-box"})
            if "root" in element.get("classes", "").split():
                box["classes"] = "table-box root"
            out.append({**element, "data": {**data, "parent": box["data"]["id"]}})
        else:
            out.append(element)
    return list(boxes.values()) + out
