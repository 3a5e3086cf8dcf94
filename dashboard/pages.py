"""Page layouts, by URL template: ``/`` (search and overview) and ``/node/<node_id>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import dash_cytoscape as cyto
from dash import dcc, html

import graph
from dashboard import ids, styles
from dashboard.elements import elements, impact_href, node_href
from graph import Edge, Member, Node, Store, neighbourhood, search
from graph.lineage import direct_edges, users_by_role

DEFAULT_DEPTH = 3


def route(store: Store, pathname: str | None) -> Any:
    """The page for a path: a node page for ``/node/<id>``, else the home page."""
    path = pathname or "/"
    if path.startswith("/node/"):
        return node_page(store, unquote(path.removeprefix("/node/")))
    if path.startswith("/impact/"):
        return impact_page(store, unquote(path.removeprefix("/impact/")))
    if path == "/":
        return home_page(store)
    return not_found(f"No page at {path}.")


def not_found(message: str) -> html.Div:
    return html.Div([html.H2("Not found"), html.P(message), dcc.Link("Back to search", href="/")])


def home_page(store: Store) -> html.Div:
    counts = store.counts()
    reports = store.reports(limit=1)
    top = search(store, "", kind="dataset", limit=15)
    return html.Div([
        html.H2("Datasets"),
        html.P(f"{counts.get('dataset', 0)} datasets, {counts.get('job', 0)} jobs, {counts.get('run', 0)} runs "
               f"and {counts.get('issue', 0)} quarantined records in {store.url}.", style=styles.MUTED),
        html.P("The most connected datasets; type in the search box for the rest.", style=styles.MUTED),
        node_list(top),
        crawl_summary(reports[0]) if reports else html.P("No crawl yet.", style=styles.MUTED),
    ])


def crawl_summary(report: dict[str, Any]) -> html.Div:
    issues = report.get("issues_by_code", {})
    return html.Div([
        html.H3("Last crawl"),
        html.P(
            f"{report.get('started_at')}: {report.get('files')} files, {report.get('records')} records, "
            f"{report.get('written')} new events, {sum(issues.values())} issues "
            f"in {report.get('seconds')} s.", style=styles.MUTED),
        html.Ul([html.Li(f"{code}: {count}") for code, count in issues.items()]),
    ], id="crawl-summary")


def node_list(nodes: list[Node]) -> html.Ul:
    return html.Ul([
        html.Li([dcc.Link(node.title, href=node_href(node.id)),
                 html.Span(f"  {node.kind} · {node.namespace or ''}", style=styles.MUTED)])
        for node in nodes
    ], className="node-list")


def node_page(store: Store, node_id: str, depth: int = DEFAULT_DEPTH) -> html.Div:
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return not_found(f"No dataset or job with id {node_id}.")
    view = neighbourhood(store, node.id, depth)
    return html.Div([
        html.H2(node.title, id="node-title"),
        dcc.Link("What would a change here touch? (impact)", href=impact_href(node.id), id="impact-link"),
        html.Div([
            html.Div([
                legend(),
                cyto.Cytoscape(
                    id=ids.GRAPH, elements=elements(view), layout=styles.GRAPH_LAYOUT,
                    stylesheet=styles.GRAPH_STYLESHEET, style=styles.GRAPH_BOX,
                    minZoom=0.2, maxZoom=2.5, userZoomingEnabled=True,
                ),
                html.Div(id=ids.EDGE_DETAILS, children=html.P(
                    "Click an edge to see the log lines and SQL behind it.", style=styles.MUTED)),
            ]),
            details(store, node),
        ], style=styles.COLUMNS),
    ])


def impact_page(store: Store, node_id: str) -> html.Div:
    """Everything downstream of a node, nearest first: what to check before changing it."""
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return not_found(f"No dataset or job with id {node_id}.")
    page = graph.impact_page(store, node.id, limit=IMPACT_ROWS)
    rows = page.rows
    header = html.Tr([html.Th(h, style=styles.TH) for h in ("distance", "kind", "name", "last used", "owners")])
    body = [html.Tr([html.Td(str(r.distance)), html.Td(r.node.kind),
                     html.Td(dcc.Link(r.node.title, href=node_href(r.node.id))), html.Td(r.last_seen or ""),
                     html.Td(", ".join(r.owners))]) for r in rows]
    return html.Div([
        html.H2(f"Impact of changing {node.title}", id="impact-title"),
        html.P(_impact_summary(rows, page.total), style=styles.MUTED, id="impact-summary"),
        html.Table([header, *body], id="impact-table"),
        dcc.Link("Back to the lineage graph", href=node_href(node.id)),
    ])


# A hub table reaches hundreds of thousands of nodes: the page lists the nearest, and says so.
IMPACT_ROWS = 500


def _impact_summary(rows: tuple[Any, ...], total: int) -> str:
    datasets = sum(1 for r in rows if r.node.kind == "dataset")
    counted = f"{datasets} datasets and {len(rows) - datasets} jobs or models downstream"
    if total > len(rows):
        return f"{total:,} nodes downstream; the nearest {len(rows)}: {counted.removesuffix(' downstream')}."
    return f"{counted}."


def legend() -> html.Div:
    def swatch(color: str, text: str) -> html.Span:
        return html.Span([html.Span(style={**styles.LEGEND_SWATCH, "background": color}), text],
                         style={"marginRight": "14px"})

    return html.Div([swatch(styles.UPSTREAM, "upstream"), swatch(styles.ROOT, "this node"),
                     swatch(styles.DOWNSTREAM, "downstream"), swatch(styles.JOB, "job (query template)")],
                    style={**styles.MUTED, "margin": "6px 0"})


def details(store: Store, node: Node) -> html.Div:
    """The node's facts, and for each of its edges the SQL behind it."""
    rows = [("kind", node.props.get("kind", node.kind) if node.kind == "dataset" else node.kind),
            ("name", node.name), ("namespace", node.namespace or ""),
            ("first seen", node.first_seen or ""), ("last seen", node.last_seen or "")]
    if node.kind == "job":
        rows.append(("statement", node.props.get("statement_kind", "")))
    usage = store.usage(node.id)
    for label, users in (("owners", users_by_role(usage, "write", 3)), ("top users", users_by_role(usage, "read", 5))):
        if users:
            rows.append((label, ", ".join(users)))
    rows += lifecycle_rows(node)
    schema = node.props.get("schema")
    if isinstance(schema, dict) and schema:
        rows.append(("columns", ", ".join(f"{name} {kind}".strip() for name, kind in schema.items())))
    members = store.members(node.id)
    return html.Div([
        html.Table([html.Tr([html.Th(k, style=styles.TH), html.Td(v)])
                    for k, v in rows]),
        member_list(members) if members else html.Div(),
        html.H3("Evidence"),
        evidence_list(store, node),
    ], style=styles.DETAILS)


# A node's edges with their evidence, most recently seen first: a hub has thousands.
EVIDENCE_EDGES = 40


def evidence_list(store: Store, node: Node) -> html.Div:
    edges = sorted(direct_edges(store, node.id), key=lambda e: (e.last_seen or "", e.count), reverse=True)
    shown = edges[:EVIDENCE_EDGES]
    ends = {n.id: n for n in store.nodes(ids=[e.dst if e.src == node.id else e.src for e in shown])}
    hidden = len(edges) - len(shown)
    more = [html.P(f"... and {hidden} more edges.", style=styles.MUTED)] if hidden else []
    return html.Div([*(edge_evidence(store, edge, node.id, ends) for edge in shown), *more], id="node-evidence")


def lifecycle_rows(node: Node) -> list[tuple[str, str]]:
    """When the dataset was last dropped, truncated, renamed, swapped, refreshed (no edges: the
    crawl keeps those events on the dataset)."""
    rows = []
    for key, when in sorted(node.props.items()):
        if key.startswith("last_") and key != "last_seen":
            event = key.removeprefix("last_")
            other = node.props.get(f"{event}_with")
            rows.append((f"last {event.replace('_', ' ')}", f"{when}" + (f" (with {other})" if other else "")))
    return rows


# An edge's verb depends on the end it is seen from: READS goes dataset -> job that reads it.
_VERBS = {("READS", True): "read by", ("READS", False): "reads",
          ("WRITES", True): "writes", ("WRITES", False): "written by"}


def member_list(members: list[Member]) -> html.Div:
    """The concrete paths or tables of a clustered dataset, each with its own time span."""
    return html.Div([
        html.H3(f"Members ({len(members)})"),
        html.Ul([html.Li([html.Code(m.name),
                          html.Span(f"  seen {m.count}x, {m.first_seen or '?'} .. {m.last_seen or '?'}",
                                    style=styles.MUTED)]) for m in members[:50]]),
    ], id="node-members")


def edge_evidence(store: Store, edge: Edge, seen_from: str, ends: Mapping[str, Node] | None = None) -> html.Div:
    """One edge as seen from one of its ends: the other end, how often and when it was seen,
    and the log lines and SQL behind it (``ends``: the other ends, when already read)."""
    evidence = store.evidence(edge.key)
    from_source = seen_from == edge.src
    other_id = edge.dst if from_source else edge.src
    other = (ends or {}).get(other_id) or store.node(other_id) or Node(id=other_id, kind="unknown", name=other_id)
    verb = _VERBS.get((edge.kind, from_source), edge.kind)
    items: list[Any] = []
    shown: set[str] = set()
    for sample in evidence:
        origin = sample.origin
        where = f"{origin.path}:{origin.line}" if origin.line else origin.path
        items.append(html.Div(f"{where} · {sample.timestamp or ''}", style=styles.MUTED))
        if sample.sql and sample.sql not in shown:  # a template repeats: show its SQL once
            shown.add(sample.sql)
            items.append(html.Pre(sample.sql, style=styles.SQL))
    return html.Div([
        html.Div([html.B(f"{verb} "), dcc.Link(other.title, href=node_href(other.id)),
                  html.Span(f"  seen {edge.count}x, last {edge.last_seen or '?'}", style=styles.MUTED)]),
        *items,
    ], className="edge-evidence")
