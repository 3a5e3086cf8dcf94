"""The Dash app: one layout shell, routed pages, thin callbacks over a read-only store."""

from __future__ import annotations

from typing import Any

import dash_cytoscape as cyto
from dash import Dash, Input, Output, dcc, html, no_update

from dashboard import callbacks, ids, pages, styles
from graph import Store

cyto.load_extra_layouts()  # dagre, for the layered left-to-right layout; served from the package


def create_app(store: Store) -> Dash:
    """A dashboard for ``store``. It only reads."""
    app = Dash(__name__, title="Lineage Crawler", suppress_callback_exceptions=True,
               update_title="")
    app.layout = html.Div([
        dcc.Location(id=ids.URL),
        html.Div([
            dcc.Link(html.B("Lineage Crawler"), href="/", style={"color": "#1a202c", "textDecoration": "none"}),
            html.Div([
                dcc.Input(id=ids.SEARCH_INPUT, type="search", placeholder="Search datasets and jobs",
                          debounce=0.25, style=styles.SEARCH_BOX),
                html.Div(id=ids.SEARCH_RESULTS),
            ]),
        ], style=styles.HEADER),
        html.Div(id=ids.PAGE),
    ], style=styles.PAGE_STYLE)
    _register(app, store)
    return app


def _register(app: Dash, store: Store) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"))
    def _route(pathname: str | None) -> Any:
        return pages.route(store, pathname)

    @app.callback(Output(ids.SEARCH_RESULTS, "children"), Input(ids.SEARCH_INPUT, "value"))
    def _search(text: str | None) -> Any:
        return callbacks.search_results(store, text)

    @app.callback(Output(ids.URL, "href"), Input(ids.GRAPH, "tapNodeData"), prevent_initial_call=True)
    def _open(tapped: dict[str, Any] | None) -> Any:
        return callbacks.open_tapped(tapped) or no_update

    @app.callback(Output(ids.EDGE_DETAILS, "children"), Input(ids.GRAPH, "tapEdgeData"), prevent_initial_call=True)
    def _edge(tapped: dict[str, Any] | None) -> Any:
        return callbacks.show_edge(store, tapped)
