"""Where the node page draws its nodes and edges, worked out on the server (cytoscape's preset
layout then only draws): layered left to right, so that no label lies under an edge.

dagre places nodes well but routes edges as curves through whatever lies between their ends,
labels included. Here every node sits on one grid shared by all columns (a column per layer,
rows ``ROW`` apart), its label below it, and every edge runs as straight segments through
space the grid keeps free: out of its node's side into the gap beside the column (a
*channel*), along the strip between two rows (a *lane*) to the gap before its target's column,
and into the target's side. Labels are at most ``LABEL_WIDTH`` wide, so they stay inside their
column; channels and lanes stay outside every column's labels.

Layers: the root is layer 0; downstream nodes the longest path from it (so every edge among
them points right), upstream nodes the same leftward; a "+N more" node one beyond its parent.
In a layer, nodes are ordered by the mean row of their neighbours already placed (a barycenter
sweep outward from the root), which keeps most edges short and level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

COLUMN = 300  # px between layers
ROW = 80  # px between rows, the same grid in every column
LABEL_WIDTH = 180  # labels are cut (ellipsis) to this
CHANNEL = LABEL_WIDTH // 2 + 16  # a channel's distance from its column's centre
LANE = 56  # a lane's distance below its row: under the row's label, above the next row's node


def place(elements: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The elements with a ``position`` for each node and, for each edge, the bends of its route
    (``segment-weights`` and ``segment-distances`` in its data, relative to its ends' centres).

    >>> placed = place([{"data": {"id": "r"}, "classes": "dataset root"},
    ...                 {"data": {"id": "d"}, "classes": "dataset downstream"},
    ...                 {"data": {"id": "r>d", "source": "r", "target": "d"}, "classes": "downstream"}])
    >>> [e["position"] for e in placed[:2]]
    [{'x': 0.0, 'y': 0.0}, {'x': 300.0, 'y': 0.0}]
    """
    nodes = [e for e in elements if "source" not in e["data"]]
    edges = [e for e in elements if "source" in e["data"]]
    layer = layers(nodes, [(e["data"]["source"], e["data"]["target"]) for e in edges])
    row = rows(layer, [(e["data"]["source"], e["data"]["target"]) for e in edges])
    where = {node: (layer[node] * COLUMN, row[node] * ROW) for node in layer}
    placed = [{**e, "position": {"x": float(where[e["data"]["id"]][0]), "y": float(where[e["data"]["id"]][1])}}
              for e in nodes]
    for edge in edges:
        source, target = where[edge["data"]["source"]], where[edge["data"]["target"]]
        weights, distances = relative(source, target, route(source, target))
        classes = str(edge.get("classes", "")) + ("" if weights else " straight")
        placed.append({**edge, "data": {**edge["data"], "weights": weights, "distances": distances},
                       "classes": classes.strip()})
    return placed


def _side(classes: str) -> int:
    names = classes.split()
    return 0 if "root" in names else -1 if "upstream" in names else 1


def layers(nodes: Sequence[Mapping[str, Any]], links: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: 0 for the root, then the longest path from it each way (an edge
    that closes a cycle is left out of the count).

    >>> nodes = [{"data": {"id": i}, "classes": c} for i, c in
    ...          (("r", "root"), ("a", "downstream"), ("b", "downstream"), ("u", "upstream"))]
    >>> layers(nodes, [("r", "a"), ("a", "b"), ("r", "b"), ("u", "r")])
    {'r': 0, 'a': 1, 'b': 2, 'u': -1}
    """
    side = {n["data"]["id"]: _side(str(n.get("classes", ""))) for n in nodes}
    parent = {n["data"]["id"]: n["data"].get("parent_id") for n in nodes if n["data"].get("kind") == "more"}
    layer = {node: 0 for node, s in side.items() if s == 0}
    for sign in (1, -1):
        following: dict[str, list[str]] = {}
        for src, dst in links:
            a, b = (src, dst) if sign > 0 else (dst, src)
            if a in side and b in side and b not in parent and side[b] == sign:
                following.setdefault(a, []).append(b)
        depth = _longest(list(layer), following)
        layer.update({node: sign * d for node, d in depth.items() if side.get(node) == sign})
    for node, s in side.items():
        if node not in layer:
            layer[node] = layer.get(parent.get(node) or "", 0) + s if node in parent else s
    return {n["data"]["id"]: layer[n["data"]["id"]] for n in nodes}


def _longest(roots: list[str], following: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest path from ``roots`` over a graph that may hold cycles (a depth-first order drops
    the edges that close them)."""
    order: list[str] = []
    state: dict[str, int] = {}
    for root in roots:
        stack = [(root, iter(following.get(root, ())))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(following.get(child, ()))))
    position = {node: i for i, node in enumerate(reversed(order))}
    depth = {root: 0 for root in roots}
    for node in reversed(order):
        for child in following.get(node, ()):
            if position[child] > position[node]:
                depth[child] = max(depth.get(child, 0), depth.get(node, 0) + 1)
    return depth


def rows(layer: Mapping[str, int], links: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's row in its column (rows are integers, 0 level with the root): columns are
    filled outward from the root, each ordered by the mean row of its neighbours placed before,
    each node as level with them as the column allows.

    >>> rows({"r": 0, "a": 1, "b": 1, "c": 2}, [("r", "a"), ("r", "b"), ("b", "c")])
    {'r': 0, 'a': -1, 'b': 0, 'c': 0}
    """
    neighbours: dict[str, list[str]] = {}
    for src, dst in links:
        neighbours.setdefault(src, []).append(dst)
        neighbours.setdefault(dst, []).append(src)
    columns: dict[int, list[str]] = {}
    for node, index in layer.items():
        columns.setdefault(index, []).append(node)
    row: dict[str, int] = {}
    for index in sorted(columns, key=lambda i: (abs(i), -i)):
        def mean(node: str) -> float:
            known = [row[n] for n in neighbours.get(node, ()) if n in row]
            return sum(known) / len(known) if known else 0.0

        wanted = sorted((mean(node), node) for node in columns[index])
        # Each as near its neighbours' mean as the one above it lets it (a row to itself), and the
        # whole column raised until it is centred on those means.
        placed: list[int] = []
        for want, _ in wanted:
            placed.append(round(want) if not placed else max(round(want), placed[-1] + 1))
        shift = math.floor(sum(p - w for p, (w, _) in zip(placed, wanted, strict=True)) / len(placed) + 0.5)
        row.update({node: p - shift for p, (_, node) in zip(placed, wanted, strict=True)})
    return {node: row[node] for node in layer}


def route(source: tuple[float, float], target: tuple[float, float]) -> list[tuple[float, float]]:
    """The bends of an edge: out of the source's side into the channel beside its column; then,
    to a neighbouring column, up or down in that gap; further, along the lane above the target's
    row to the channel before the target's column; and into the target's side.

    >>> route((0, 0), (300, 80))
    [(150.0, 0), (150.0, 80)]
    >>> route((0, 0), (0, 0))
    []
    """
    (xs, ys), (xt, yt) = source, target
    columns = round((xt - xs) / COLUMN)
    if abs(columns) == 1:
        middle = (xs + xt) / 2
        return [] if ys == yt else [(middle, ys), (middle, yt)]
    if (xs, ys) == (xt, yt):
        return []
    out = 1 if columns >= 0 else -1
    into = -1 if columns > 0 else 1  # a target in the same column is entered from the right too
    lane = yt - ROW + LANE
    first, last = xs + out * CHANNEL, xt + into * CHANNEL
    return [(first, ys), (first, lane), (last, lane), (last, yt)]


def relative(source: tuple[float, float], target: tuple[float, float],
             points: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Bends as cytoscape's segments edges take them (``edge-distances: node-position``): for
    each, how far along the line from the source's centre to the target's (0 to 1), and how far
    from that line (perpendicular, positive to the line's left as cytoscape measures it).

    >>> relative((0, 0), (100, 0), [(50, 20)])
    ([0.5], [20.0])
    """
    (xs, ys), (xt, yt) = source, target
    dx, dy = xt - xs, yt - ys
    length = math.hypot(dx, dy) or 1.0
    weights, distances = [], []
    for px, py in points:
        vx, vy = px - xs, py - ys
        weights.append(round((vx * dx + vy * dy) / (length * length), 6))
        distances.append(round((dx * vy - dy * vx) / length, 3))
    return weights, distances
