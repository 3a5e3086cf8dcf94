"""Page layouts, by URL template: ``/`` (search and overview) and ``/node/<node_id>``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash_cytoscape as cyto
from dash import dcc, html

from dashboard import ids, styles
from dashboard.elements import elements, node_href
from graph import LineageIndex, Node, NodeNotFoundError, neighbourhood, search
from graph.lineage import owners

DEFAULT_DEPTH = 3


def route(index: LineageIndex, pathname: str | None) -> Any:
    """The page for a path: a node page for ``/node/<id>``, else the home page."""
    path = pathname or "/"
    if path.startswith("/node/"):
        return node_page(index, unquote(path.removeprefix("/node/")))
    if path == "/":
        return home_page(index)
    return not_found(f"No page at {path}.")


def not_found(message: str) -> html.Div:
    return html.Div([html.H2("Not found"), html.P(message), dcc.Link("Back to search", href="/")])


def home_page(index: LineageIndex) -> html.Div:
    store = index.store
    counts = store.counts()
    reports = store.reports(limit=1)
    top = search(index, "", kind="dataset", limit=15)
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


def node_page(index: LineageIndex, node_id: str, depth: int = DEFAULT_DEPTH) -> html.Div:
    try:
        node = index.node(node_id)
    except NodeNotFoundError:
        return not_found(f"No dataset or job with id {node_id}.")
    view = neighbourhood(index, node.id, depth)
    return html.Div([
        html.H2(node.title, id="node-title"),
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
            details(index, node),
        ], style=styles.COLUMNS),
    ])


def legend() -> html.Div:
    def swatch(color: str, text: str) -> html.Span:
        return html.Span([html.Span(style={**styles.LEGEND_SWATCH, "background": color}), text],
                         style={"marginRight": "14px"})

    return html.Div([swatch(styles.UPSTREAM, "upstream"), swatch(styles.ROOT, "this node"),
                     swatch(styles.DOWNSTREAM, "downstream"), swatch(styles.JOB, "job (query template)")],
                    style={**styles.MUTED, "margin": "6px 0"})


def details(index: LineageIndex, node: Node) -> html.Div:
    """The node's facts, and for each of its edges the SQL behind it."""
    store = index.store
    rows = [("kind", node.props.get("kind", node.kind) if node.kind == "dataset" else node.kind),
            ("name", node.name), ("namespace", node.namespace or ""),
            ("first seen", node.first_seen or ""), ("last seen", node.last_seen or "")]
    if node.kind == "job":
        rows.append(("statement", node.props.get("statement_kind", "")))
    found_owners = owners(store, node.id)
    if found_owners:
        rows.append(("owners", ", ".join(found_owners)))
    flow = index.graph
    keys = sorted([data["edge"].key for *_, data in flow.in_edges(node.id, data=True)]
                  + [data["edge"].key for *_, data in flow.out_edges(node.id, data=True)])
    return html.Div([
        html.Table([html.Tr([html.Th(k, style=styles.TH), html.Td(v)])
                    for k, v in rows]),
        html.H3("Evidence"),
        html.Div([edge_evidence(index, key, node.id) for key in keys], id="node-evidence"),
    ], style=styles.DETAILS)


# An edge's verb depends on the end it is seen from: READS goes dataset -> job that reads it.
_VERBS = {("READS", True): "read by", ("READS", False): "reads",
          ("WRITES", True): "writes", ("WRITES", False): "written by"}


def edge_evidence(index: LineageIndex, key: tuple[str, str, str], seen_from: str) -> html.Div:
    """One edge as seen from one of its ends: the other end, how often and when it was seen,
    and the log lines and SQL behind it."""
    src, kind, dst = key
    edge = index.graph.edges[src, dst]["edge"]
    evidence = index.store.evidence(key)
    from_source = seen_from == src
    other = index.graph.nodes[dst if from_source else src]["node"]
    verb = _VERBS.get((kind, from_source), kind)
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
