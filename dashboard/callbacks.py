"""Thin callbacks: each reads its inputs, asks the graph, returns components. None mutates."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from dash import dcc, html

from dashboard import impact, pages, styles
from dashboard.elements import clamp_depth
from graph import Store

MIN_SEARCH = 2


def search_results(store: Store, text: str | None) -> Any:
    """Suggestions under the search box as one types: datasets, jobs, models, then columns."""
    if not text or len(text.strip()) < MIN_SEARCH:
        return []
    found = pages.find(store, text, pages.SUGGESTIONS)
    if not found:
        return html.Div(html.P(f"Nothing matches {pages.shown(text)!r}.", style=styles.MUTED),
                        style=styles.SUGGESTIONS)
    return html.Div([pages.node_list(found),
                     html.P("Enter: every match", style=styles.MUTED)], style=styles.SUGGESTIONS)


def search_href(text: str | None) -> str | None:
    """Enter in the search box: the page of every match.

    >>> search_href(" credit scores ")
    '/search?q=credit%20scores'
    """
    if not text or not text.strip():
        return None
    return "/search?q=" + quote(text.strip()[:200], safe="")


def node_query(upstream: Any, downstream: Any, datasets_only: Any, as_of: Any, current: str | None = None) -> str:
    """The node page's controls as its URL's query string (what differs from the defaults), so
    the page is shareable and back and forward step through its states; depths held to 1..10.
    The column of a column view, named in the ``current`` query string, stays in it.

    >>> node_query(3, "99", [], " 2026-11-26T14:00 ")
    '?up=3&down=10&jobs=1&as_of=2026-11-26T14%3A00'
    >>> node_query(1, 1, ["on"], "")
    ''
    >>> node_query(2, 1, ["on"], "", "?column=email&up=5")
    '?column=email&up=2'
    """
    query = {"up": clamp_depth(upstream), "down": clamp_depth(downstream), "jobs": 0 if datasets_only else 1,
             "as_of": str(as_of or "").strip()[:40]}
    defaults = {"up": 1, "down": 1, "jobs": 0, "as_of": ""}
    column = parse_qs((current or "").lstrip("?")).get("column", [])[-1:]
    kept = {**({"column": column[0]} if column else {}),
            **{key: value for key, value in query.items() if value != defaults[key]}}
    return "?" + urlencode(kept) if kept else ""


def select_node(store: Store, tapped: dict[str, Any] | None) -> Any:
    """Clicking a node shows its details beside the graph, with a link to its own page."""
    if not tapped:
        return None
    if tapped.get("kind") == "more":
        parent = store.node(str(tapped.get("parent_id", "")))
        if parent is None:
            return html.P("That node is gone from the store.", style=styles.MUTED)
        return html.Div([html.P(f"{tapped.get('label', '')} neighbours of {parent.title}, not drawn "
                                "(the best ranked are)."),
                         dcc.Link("See them all on the impact page" if tapped.get("href", "").startswith("/impact/")
                                  else f"Open {parent.title}", href=str(tapped.get("href", "/")), id="open-node")])
    node = store.node(str(tapped.get("id", "")))
    if node is None:
        return html.P("That node is gone from the store.", style=styles.MUTED)
    return pages.details(store, node, link=True)


def show_edge(store: Store, tapped: dict[str, Any] | None) -> Any:
    """Clicking an edge shows the evidence behind it: for an edge that folds a job, the job's
    reads and writes."""
    if not tapped:
        return html.P("Click an edge to see the log lines and SQL behind it.", style=styles.MUTED)
    keys = [str(p) for p in tapped.get("parts") or [tapped.get("id", "")] if "|" in str(p)][:10]
    shown = []
    for key in keys:
        src, kind, dst = key.split("|", 2)
        found = [e for e in store.neighbors([src], outgoing=[kind]) if e.dst == dst]
        if found:
            shown.append(pages.edge_evidence(store, found[0], src))
    if not shown:
        return html.P("That edge is gone from the store.", style=styles.MUTED)
    return html.Div(shown)


def impact_download(store: Store, root: str | None) -> dict[str, Any] | None:
    """The impact page's CSV, for ``dcc.Download``."""
    text = impact.impact_csv(store, root) if root else None
    return None if text is None or root is None else dcc.send_string(text, impact.csv_filename(root))


# The summary line comes once the whole impact is in: the grid asks again for the blocks it holds
# (its first blocks came before the rest, without the number of rows in all).
REFRESH_GRID = """
function(summary, gridId) {
    try { dash_ag_grid.getApi(gridId).refreshInfiniteCache(); } catch (e) { return false; }
    return true;
}
"""


# After each drawing: the page opens at 100% (labels at their full size), the root in the middle.
CENTRE_ON_ROOT = """
function(elements, graphId) {
    const centre = () => {
        const box = document.getElementById(graphId);
        const cy = box && box._cyreg && box._cyreg.cy;
        if (!cy) { return; }
        const root = cy.nodes('.root');
        cy.zoom(1);
        if (root.length) { cy.center(root); } else { cy.center(); }
    };
    [0, 60, 250].forEach(ms => setTimeout(centre, ms));
    return (elements || []).length;
}
"""


# Double-click (or double tap) on a node opens its page. dash-cytoscape has no property for it,
# cytoscape.js has the event: bound once per graph, moving the Dash router as dcc.Link does (the
# URL changes, the page is routed, back and forward work).
OPEN_ON_DOUBLE_TAP = """
function(elements, graphId) {
    const bind = (tries) => {
        const box = document.getElementById(graphId);
        const cy = box && box._cyreg && box._cyreg.cy;
        if (!cy) { if (tries > 0) { setTimeout(() => bind(tries - 1), 50); } return; }
        if (cy.scratch('_lineageDoubleTap')) { return; }
        cy.scratch('_lineageDoubleTap', true);
        cy.on('dbltap', 'node', (event) => {
            const href = event.target.data('href');
            if (!href || href === window.location.pathname + window.location.search) { return; }
            window.history.pushState({}, '', href);
            window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
            window.scrollTo(0, 0);
        });
    };
    bind(40);
    return true;
}
"""
