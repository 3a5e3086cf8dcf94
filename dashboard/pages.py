"""Page layouts, by URL template: ``/`` (overview), ``/search?q=...``, ``/node/<id>`` (the lineage
graph and the details of a node), and the pages of other modules (``/impact/<id>``,
``/model/<name>[/<version>]``, ``/crawls``), routed here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

import dash_cytoscape as cyto
from dash import dcc, html

from dashboard import crawls, ids, impact, layout, models, styles
from dashboard.elements import (
    GraphOptions,
    clamp_depth,
    column_boxes,
    drawn_keys,
    elements,
    grow,
    impact_href,
    keep,
    links,
    model_href,
    node_href,
)
from dashboard.parts import by_generation, not_found, shown
from graph import Edge, LineageView, Member, Node, Store, lineage, search
from graph.lineage import DATASET_FLOW, owning_role, users_by_role
from graph.nearby import Surroundings

SEARCH_LIMIT = 50
SUGGESTIONS = 10


def route(store: Store, pathname: str | None, query: str | None = None) -> Any:
    """The page for a path (and its query string, for ``/search?q=``)."""
    path = pathname or "/"
    if path.startswith("/node/"):
        node_id = unquote(path.removeprefix("/node/"))
        return node_page(store, column_of(node_id, query) or node_id, node_options(query))
    if path.startswith("/impact/"):
        return impact.impact_page(store, unquote(path.removeprefix("/impact/")))
    if path.startswith("/model/"):
        name, _, version = path.removeprefix("/model/").partition("/")
        return models.model_page(store, unquote(name), unquote(version) or None)
    if path in ("/crawls", "/crawls/"):
        return crawls.crawls_page(store)
    if path == "/search":
        return search_page(store, parse_qs((query or "").lstrip("?")).get("q", [""])[0])
    if path == "/":
        return home_page(store)
    return not_found(f"No page at {shown(path)}.")


def home_page(store: Store) -> html.Div:
    counts = by_generation(store, "counts", store.counts)
    reports = store.reports(limit=1)
    top = by_generation(store, "home-datasets", lambda: search(store, "", kind="dataset", limit=15))
    models_found = by_generation(store, "home-models", lambda: search(store, "", kind="model", limit=10))
    return html.Div([
        html.H2("Datasets"),
        html.P(f"{counts.get('dataset', 0)} datasets, {counts.get('job', 0)} jobs, {counts.get('run', 0)} runs "
               f"and {counts.get('issue', 0)} quarantined records in {store.url}.", style=styles.MUTED),
        html.P("The most connected datasets; type in the search box for the rest.", style=styles.MUTED),
        node_list(top),
        html.Div([html.H3("Models"), html.Ul([html.Li(dcc.Link(m.name, href=model_href(m.name)))
                                              for m in models_found])]) if models_found else html.Div(),
        crawl_summary(reports[0]) if reports else html.P("No crawl yet.", style=styles.MUTED),
    ])


def crawl_summary(report: dict[str, Any]) -> html.Div:
    issues = report.get("issues_by_code", {})
    return html.Div([
        html.H3(["Last crawl ", dcc.Link("(all crawls)", href="/crawls", style={"fontSize": "14px"})]),
        html.P(
            f"{report.get('started_at')}: {report.get('files')} files, {report.get('records')} records, "
            f"{report.get('written')} new events, {sum(issues.values())} issues "
            f"in {report.get('seconds')} s.", style=styles.MUTED),
        html.Ul([html.Li(f"{code}: {count}") for code, count in issues.items()]),
    ], id="crawl-summary")


def find(store: Store, text: str, limit: int) -> list[Node]:
    """Datasets, jobs and models whose name holds ``text``, then columns of that name."""
    text = text.strip()[:200]
    if not text:
        return []
    found = search(store, text, limit=limit)
    return found + find_columns(store, text, max(1, limit - len(found)))


# The stores' text search leaves columns out (a warehouse has millions): the dashboard keeps its
# own index of column names, built again when the store's generation moves.
_COLUMN_INDEX: dict[int, tuple[int, dict[str, list[str]]]] = {}


def find_columns(store: Store, text: str, limit: int) -> list[Node]:
    """Columns whose name is ``text``, or starts with it, or holds it (in that order)."""
    generation = store.generation()
    cached = _COLUMN_INDEX.get(id(store))
    if cached is None or cached[0] != generation:
        index: dict[str, list[str]] = {}
        for column in store.nodes("column"):
            index.setdefault(column.name.lower(), []).append(column.id)
        cached = _COLUMN_INDEX[id(store)] = (generation, index)
    needle = text.lower().rsplit(".", 1)[-1] if "." in text and "#" not in text else text.lower()
    names = sorted((name for name in cached[1] if needle in name),
                   key=lambda name: (name != needle, not name.startswith(needle), name))
    wanted = [column for name in names for column in sorted(cached[1][name])][:limit]
    return list(store.nodes(ids=wanted)) if wanted else []


def node_list(nodes: list[Node]) -> html.Ul:
    return html.Ul([
        html.Li([dcc.Link(_title(node), href=node_href(node.id)),
                 html.Span(f"  {node.kind} · {node.namespace or ''}", style=styles.MUTED)])
        for node in nodes
    ], className="node-list")


def _title(node: Node) -> str:
    """A column with its table: ``credit.raw.customers.email``."""
    if node.kind == "column" and "#" in node.id:
        table = node.id.rsplit("#", 1)[0].removeprefix(f"column:{node.namespace}/" if node.namespace else "column:")
        return f"{table}.{node.name}"
    return node.title


def search_page(store: Store, text: str) -> html.Div:
    """Every match of a search (Enter in the search box), columns included."""
    found = find(store, text, SEARCH_LIMIT)
    heading = f"Search: {shown(text)}" if text.strip() else "Search"
    return html.Div([
        html.H2(heading, id="search-title"),
        node_list(found) if found else html.P(f"Nothing matches {shown(text)!r}." if text.strip()
                                              else "Type a name in the search box.", style=styles.MUTED),
    ], id="search-page")


def column_of(node_id: str, query: str | None) -> str | None:
    """A dataset's column named in the URL (``/node/<dataset>?column=<name>``): its column view.

    >>> column_of("dataset:pg://h/db.t", "?column=email")
    'column:pg://h/db.t#email'
    """
    name = parse_qs((query or "").lstrip("?")).get("column", [""])[-1].strip()[:200]
    return f"column:{node_id.removeprefix('dataset:')}#{name}" if name and node_id.startswith("dataset:") else None


def node_options(query: str | None) -> GraphOptions:
    """The node page's options from its URL's query string (``?up=3&down=2&jobs=1&as_of=...``),
    whatever it holds: depths held to 1..10, a time that is not one ignored.

    >>> options = node_options("?up=3&jobs=1&as_of=2026-11-26T14:00&down=x")
    >>> options.upstream, options.downstream, options.datasets_only, options.as_of
    (3, 1, False, '2026-11-26T14:00:00.000Z')
    """
    values = {key: found[-1] for key, found in parse_qs((query or "").lstrip("?")).items()}
    return GraphOptions(upstream=clamp_depth(values.get("up")), downstream=clamp_depth(values.get("down")),
                        datasets_only=values.get("jobs") != "1", as_of=as_of_time(values.get("as_of")))


def as_of_time(text: str | None) -> str | None:
    """A time as the store keeps them (ISO 8601 in UTC, milliseconds, ``Z``); a date is its
    midnight, a time without zone is UTC; None for anything else.

    >>> as_of_time("2026-11-26"), as_of_time("2026-11-26T14:00+02:00"), as_of_time("<b>")
    ('2026-11-26T00:00:00.000Z', '2026-11-26T12:00:00.000Z', None)
    """
    try:
        when = dt.datetime.fromisoformat((text or "").strip()[:40])
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def node_page(store: Store, node_id: str, options: GraphOptions | None = None) -> html.Div:
    """The lineage graph around a node, the controls that shape it, and the details beside it."""
    options = options or GraphOptions()
    node = store.node(node_id)
    if node is None or node.kind == "run":
        return not_found(f"No dataset, job, column or model with id {shown(node_id)}.")
    built = graph_elements(store, node.id, options)
    drawn = layout.place(built)
    if node.kind == "column":
        drawn = column_boxes(view_of(store, node.id, options.clamped()), drawn)
    links = [dcc.Link("What would a change here touch? (impact)", href=impact_href(node.id), id="impact-link")]
    if node.kind in ("model", "model_version"):
        links.append(dcc.Link("  Model provenance", href=_model_page_of(node), id="model-link"))
    return html.Div([
        html.H2(_title(node), id="node-title"),
        html.Div(links),
        dcc.Store(id=ids.NODE_ROOT, data=node.id),
        dcc.Store(id=ids.CENTRED),
        dcc.Store(id=ids.DOUBLE_TAP),
        controls(options, graph_note(built) + (f", as of {options.as_of}" if options.as_of else "")),
        html.Div([
            html.Div([
                legend(),
                cyto.Cytoscape(
                    id=ids.GRAPH, elements=drawn, layout=styles.GRAPH_LAYOUT,
                    stylesheet=styles.GRAPH_STYLESHEET, style=styles.GRAPH_BOX,
                    minZoom=0.2, maxZoom=2.5, userZoomingEnabled=True, wheelSensitivity=0.3,
                ),
                html.Div(id=ids.EDGE_DETAILS, children=html.P(
                    "Click a node to see its details beside, an edge for the log lines and SQL behind it.",
                    style=styles.MUTED)),
            ]),
            html.Div(details(store, node), id=ids.NODE_DETAILS),
        ], style=styles.COLUMNS),
    ])


def _model_page_of(node: Node) -> str:
    if node.kind == "model":
        return model_href(node.name)
    model, _, version = node.name.rpartition("/")
    return model_href(model or node.name, str(node.props.get("version") or version or "") or None)


def controls(options: GraphOptions, note: str = "") -> html.Div:
    def depth(label: str, component_id: str, value: int) -> html.Label:
        return html.Label([label, dcc.Input(id=component_id, type="number", min=1, max=GraphOptions.MAX_DEPTH,
                                            step=1, value=value, debounce=False, style=styles.DEPTH_BOX)])

    return html.Div([
        depth("upstream", ids.UPSTREAM_DEPTH, options.upstream),
        depth("downstream", ids.DOWNSTREAM_DEPTH, options.downstream),
        dcc.Checklist(id=ids.DATASETS_ONLY, options=[{"label": " datasets only (jobs folded into edges)",
                                                      "value": "on"}],
                      value=["on"] if options.datasets_only else [], inline=True),
        html.Label(["as of", dcc.Input(id=ids.AS_OF, type="text", debounce=True, placeholder="now (2026-11-26T14:00)",
                                       value=(options.as_of or "")[:16], style=styles.AS_OF_BOX)],
                   title="The graph as it was at this time (UTC); Enter to apply, empty for now"),
        html.Span(note, id=ids.GRAPH_NOTE, style=styles.MUTED),
    ], style=styles.CONTROLS)


def view_of(store: Store, root: str, options: GraphOptions) -> LineageView:
    """Upstream ``options.upstream`` jobs and downstream ``options.downstream``, in one view."""
    up = lineage(store, root, "upstream", options.upstream, as_of=options.as_of)
    down = lineage(store, root, "downstream", options.downstream, as_of=options.as_of)
    distance = {**{k: -v for k, v in up.distance.items()}, **down.distance}
    edges = {edge.key: edge for edge in (*up.edges, *down.edges)}
    return LineageView(root=root, direction="both", nodes={**up.nodes, **down.nodes}, distance=distance,
                       edges=tuple(edges[key] for key in sorted(edges)))


def graph_elements(store: Store, root: str, options: GraphOptions) -> list[dict[str, Any]]:
    """The elements of the node page's graph. Of the live graph, read only around the nodes
    drawn (a hub at depth 10 reaches 10^5 nodes, of which the page draws ``max_nodes``): the
    walks' distances first, then the keys of the edges of each frontier placed as the graph grows
    from the root, then whole the edges drawn; the same elements as from the whole view."""
    options = options.clamped()
    if options.as_of is None:
        return _elements_around(Surroundings(store, root, options.upstream, options.downstream), options)
    deepest = max(options.upstream, options.downstream)
    for depth in range(1, deepest + 1):
        walked = dataclasses.replace(options, upstream=min(depth, options.upstream),
                                     downstream=min(depth, options.downstream))
        view = view_of(store, root, walked)
        if depth == deepest or _settled(view, walked, options):
            return elements(view, options)
    raise AssertionError("unreachable: the last depth returns")


READ_WHOLE = 2_000  # nodes reached up to which the whole view is read at once: one round of reads


def _elements_around(around: Surroundings, options: GraphOptions) -> list[dict[str, Any]]:
    """The nodes placed as the graph grows from the root, read around only as they are placed,
    then whole the edges their drawing is made of; the whole view at once when it is small (one
    round of reads)."""
    if around.reached() <= READ_WHOLE:
        return elements(around.everything(), options)
    placed, more = grow(around, options)
    drawn = around.view_of(drawn_keys(around, placed, datasets_only=options.datasets_only), placed)
    return elements(drawn, options, kept=(placed, more))


def _settled(view: LineageView, walked: GraphOptions, options: GraphOptions) -> bool:
    """Walking deeper draws the same: the page is full, and every node drawn is nearer than the
    walk went on its side (so its neighbours, and its "+N more", are all in ``view``)."""
    placed, _ = keep(view, links(view, datasets_only=options.datasets_only), options)
    if len(placed) < options.max_nodes:
        return False
    for node in placed:
        distance = view.distance.get(node, 0)
        went, final = ((walked.upstream, options.upstream) if distance < 0 else (walked.downstream, options.downstream))
        if abs(distance) >= went and went < final:
            return False
    return True


def graph_note(built: list[dict[str, Any]]) -> str:
    """How many nodes are drawn, and how many a "+N more" holds back."""
    nodes = [e["data"] for e in built if "source" not in e["data"]]
    drawn = sum(1 for data in nodes if data["kind"] != "more")
    hidden = sum(int(data["label"].split()[0].lstrip("+")) for data in nodes if data["kind"] == "more")
    return f"{drawn} nodes" + (f", {hidden} more not drawn" if hidden else "")


def legend() -> html.Div:
    def swatch(color: str, text: str) -> html.Span:
        return html.Span([html.Span(style={**styles.LEGEND_SWATCH, "background": color}), text],
                         style={"marginRight": "14px"})

    return html.Div([swatch(styles.UPSTREAM, "upstream"), swatch(styles.ROOT, "this node"),
                     swatch(styles.DOWNSTREAM, "downstream"), swatch(styles.JOB, "job (query template)"),
                     swatch(styles.MODEL, "model version")],
                    style={**styles.MUTED, "margin": "6px 0"})


def details(store: Store, node: Node, *, link: bool = False) -> html.Div:
    """The node's facts, and for each of its edges the log lines and SQL behind it. With
    ``link``, a link to its own page first (the panel shows whichever node was clicked)."""
    rows = fact_rows(store, node)
    schema = node.props.get("schema")
    members = store.members(node.id) if node.kind == "dataset" else []
    head = [html.H3(dcc.Link(f"Open {_title(node)}", href=node_href(node.id), id="open-node"))] if link else []
    return html.Div([
        *head,
        html.Table([html.Tr([html.Th(k, style=styles.TH), html.Td(v)]) for k, v in rows], id="node-facts"),
        schema_table(node, schema) if isinstance(schema, dict) and schema else html.Div(),
        member_list(members) if members else html.Div(),
        html.H3("Evidence"),
        evidence_list(store, node),
    ], style=styles.DETAILS)


def fact_rows(store: Store, node: Node) -> list[tuple[str, str]]:
    """Kind, location, owners, top users, first and last seen, runs."""
    kind = node.props.get("kind", node.kind) if node.kind == "dataset" else node.kind
    rows = [("kind", str(kind)), ("name", node.name), ("location", node.namespace or ""),
            ("first seen", node.first_seen or ""), ("last seen", node.last_seen or "")]
    if node.kind == "job":
        rows.append(("statement", str(node.props.get("statement_kind", ""))))
    usage = store.usage(node.id)
    if node.kind == "job":  # owned by the users who run it; its users are the same
        listed = (("owners", users_by_role(usage, owning_role(node.id), 5)),
                  ("applications", users_by_role(usage, "application", 5)))
    else:
        listed = (("owners", users_by_role(usage, "write", 3)), ("top users", users_by_role(usage, "read", 5)))
    for label, users in listed:
        if users:
            rows.append((label, ", ".join(users)))
    reads, writes = (sum(u.count for u in usage if u.role == role) for role in ("read", "write"))
    if reads or writes:
        rows.append(("runs", f"{reads + writes} ({writes} writing, {reads} reading)"))
    return rows + lifecycle_rows(node)


def schema_table(node: Node, schema: Mapping[str, Any]) -> html.Div:
    prefix = f"column:{node.namespace}/{node.name}#" if node.namespace else None
    return html.Div([
        html.H3(f"Schema ({len(schema)} columns)"),
        html.Table([html.Tr([html.Td(dcc.Link(name, href=column_href(node, name)) if prefix else name,
                                     style=styles.TD),
                             html.Td(str(kind), style={**styles.TD, **styles.MUTED})])
                    for name, kind in schema.items()], style=styles.TABLE),
    ], id="node-schema")


def column_href(dataset: Node, column: str) -> str:
    """A column's own URL: its table's page with ``?column=``."""
    return node_href(dataset.id) + "?" + urlencode({"column": column})


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


# A node's edges with their evidence, most recently seen first: a hub has thousands.
EVIDENCE_EDGES = 40


def node_edges(store: Store, node: Node) -> list[Edge]:
    """A node's own lineage edges: reads, writes, training, serving; a column's derivations."""
    kinds = ["DERIVES"] if node.kind == "column" else list(DATASET_FLOW)
    return sorted(store.neighbors([node.id], outgoing=kinds, incoming=kinds), key=lambda e: e.key)


def evidence_list(store: Store, node: Node) -> html.Div:
    edges = sorted(node_edges(store, node), key=lambda e: (e.last_seen or "", e.count), reverse=True)
    shown = edges[:EVIDENCE_EDGES]
    ends = {n.id: n for n in store.nodes(ids=[e.dst if e.src == node.id else e.src for e in shown])}
    hidden = len(edges) - len(shown)
    more = [html.P(f"... and {hidden} more edges.", style=styles.MUTED)] if hidden else []
    return html.Div([*(edge_evidence(store, edge, node.id, ends) for edge in shown), *more], id="node-evidence")


# An edge's verb depends on the end it is seen from: READS goes dataset -> job that reads it.
_VERBS = {("READS", True): "read by", ("READS", False): "reads",
          ("WRITES", True): "writes", ("WRITES", False): "written by",
          ("TRAINED_ON", True): "trained on", ("TRAINED_ON", False): "trains",
          ("SERVED", True): "served into", ("SERVED", False): "served by",
          ("DERIVES", True): "feeds", ("DERIVES", False): "derived from"}


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
    and the log lines (file, line, byte offset) and redacted SQL behind it (``ends``: the other
    ends, when already read)."""
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
        offset = f" @{origin.byte_offset}" if origin.byte_offset is not None else ""
        items.append(html.Div(f"{where}{offset} · {sample.source_type} · {sample.timestamp or ''}",
                              style=styles.MUTED))
        if sample.sql and sample.sql not in shown:  # a template repeats: show its SQL once
            shown.add(sample.sql)
            items.append(html.Pre(sample.sql, style=styles.SQL))
    return html.Div([
        html.Div([html.B(f"{verb} "), dcc.Link(_title(other), href=node_href(other.id)),
                  html.Span(f"  seen {edge.count}x, last {edge.last_seen or '?'}", style=styles.MUTED)]),
        *items,
    ], className="edge-evidence")
