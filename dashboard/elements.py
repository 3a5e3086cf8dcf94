"""Pure functions from lineage views to cytoscape elements: testable without a browser."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graph import LineageView, Node


def node_href(node_id: str) -> str:
    """The page of a node: ``/node/<id>``, the id escaped whole.

    >>> node_href("dataset:postgres://db:5432/credit.ml.scores")
    '/node/dataset%3Apostgres%3A%2F%2Fdb%3A5432%2Fcredit.ml.scores'
    """
    return "/node/" + quote(node_id, safe="")


def impact_href(node_id: str) -> str:
    """The impact page of a node: ``/impact/<id>``."""
    return "/impact/" + quote(node_id, safe="")


def elements(view: LineageView) -> list[dict[str, Any]]:
    """Nodes then edges, each classed by kind and by side (upstream, downstream, root).

    >>> from graph import Edge, Node
    >>> view = LineageView(root="dataset:x/b", direction="both", distance={"dataset:x/b": 0, "job:x/j": -1},
    ...     nodes={"dataset:x/b": Node(id="dataset:x/b", kind="dataset", name="b"),
    ...            "job:x/j": Node(id="job:x/j", kind="job", name="j", label="INSERT b")},
    ...     edges=(Edge(src="job:x/j", kind="WRITES", dst="dataset:x/b"),))
    >>> [(e["data"]["id"], e["classes"]) for e in elements(view)]
    [('dataset:x/b', 'dataset root'), ('job:x/j', 'job upstream'), ('job:x/j|WRITES|dataset:x/b', 'upstream')]
    """
    nodes = [_node_element(view, node) for node in sorted(view.nodes.values(), key=lambda n: n.id)]
    edges = [
        {
            "data": {"id": "|".join(edge.key), "source": edge.src, "target": edge.dst, "kind": edge.kind,
                     "count": edge.count},
            "classes": _side(view, edge.src if edge.dst == view.root else edge.dst),
        }
        for edge in view.edges
    ]
    return nodes + edges


def _node_element(view: LineageView, node: Node) -> dict[str, Any]:
    classes = [node.kind]
    if node.props.get("kind") == "view":
        classes.append("view")
    classes.append(_side(view, node.id))
    return {
        "data": {"id": node.id, "label": _short(node), "kind": node.kind, "href": node_href(node.id)},
        "classes": " ".join(classes),
    }


def _side(view: LineageView, node_id: str) -> str:
    if node_id == view.root:
        return "root"
    return "upstream" if view.distance.get(node_id, 0) < 0 else "downstream"


def _short(node: Node) -> str:
    """Datasets show their name without the database; jobs only what they do (their page and
    the evidence panel tell the rest), so the graph stays readable."""
    if node.kind == "job":
        return str(node.props.get("statement_kind") or node.title)
    parts = node.name.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else node.name
