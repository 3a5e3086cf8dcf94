"""The Dash app: one layout shell, routed pages, thin callbacks over a read-only store."""

from __future__ import annotations

import hmac
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Response, request

from dashboard import callbacks, ids, impact, pages, styles
from graph import Store

TOKEN_COOKIE = "lineage_token"


def create_app(store: Store, *, token: str | None = None) -> Dash:
    """A dashboard for ``store``. It only reads. With ``token``, every request must carry it:
    ``?token=...`` once (kept in a cookie) or an ``Authorization: Bearer ...`` header."""
    app = Dash(__name__, title="Lineage Crawler", suppress_callback_exceptions=True,
               update_title="")
    app.layout = html.Div([
        dcc.Location(id=ids.URL, refresh="callback-nav"),  # callbacks move it without reloading
        html.Div([
            dcc.Link(html.B("Lineage Crawler"), href="/", style={"color": "#1a202c", "textDecoration": "none"}),
            html.Div([
                dcc.Input(id=ids.SEARCH_INPUT, type="search", placeholder="Search datasets, jobs, columns, models",
                          debounce=False, style=styles.SEARCH_BOX, autoComplete="off"),
                html.Div(id=ids.SEARCH_RESULTS),
            ], style={"position": "relative"}),
            dcc.Link("Crawls", href="/crawls", id="crawls-link"),
        ], style=styles.HEADER),
        html.Div(id=ids.PAGE),
    ], style=styles.PAGE_STYLE)
    _register(app, store)
    if token:
        _require(app, token)
    return app


def _require(app: Dash, token: str) -> None:
    server = app.server

    @server.before_request
    def _check() -> Any:
        given = (request.args.get("token") or request.cookies.get(TOKEN_COOKIE)
                 or request.headers.get("Authorization", "").removeprefix("Bearer ").strip())
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("a valid token is needed: open the dashboard with ?token=...", status=401)
        return None

    @server.after_request
    def _remember(response: Response) -> Response:
        if request.args.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response


def _register(app: Dash, store: Store) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def _route(pathname: str | None, query: str | None) -> Any:
        return pages.route(store, pathname, query)

    @app.callback(Output(ids.SEARCH_RESULTS, "children"), Input(ids.SEARCH_INPUT, "value"),
                  Input(ids.URL, "href"))
    def _search(text: str | None, _href: str | None) -> Any:
        if ctx.triggered_id == ids.URL:  # a new page: the suggestions have served
            return []
        return callbacks.search_results(store, text)

    @app.callback(Output(ids.URL, "href"), Input(ids.SEARCH_INPUT, "n_submit"), State(ids.SEARCH_INPUT, "value"),
                  prevent_initial_call=True)
    def _submit(_submits: int | None, text: str | None) -> Any:
        return callbacks.search_href(text) or no_update

    # The node page's controls live in its URL: a change moves the URL, the router draws the page.
    @app.callback(Output(ids.URL, "search"),
                  Input(ids.UPSTREAM_DEPTH, "value"), Input(ids.DOWNSTREAM_DEPTH, "value"),
                  Input(ids.DATASETS_ONLY, "value"), Input(ids.AS_OF, "value"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def _controls(upstream: Any, downstream: Any, datasets_only: Any, as_of: Any, search: str | None) -> Any:
        if upstream is None or downstream is None:  # a depth box being retyped
            return no_update
        query = callbacks.node_query(upstream, downstream, datasets_only, as_of, search)
        return query if query != (search or "") else no_update

    @app.callback(Output(ids.NODE_DETAILS, "children"), Input(ids.GRAPH, "tapNodeData"), prevent_initial_call=True)
    def _select(tapped: dict[str, Any] | None) -> Any:
        return callbacks.select_node(store, tapped) or no_update

    @app.callback(Output(ids.EDGE_DETAILS, "children"), Input(ids.GRAPH, "tapEdgeData"), prevent_initial_call=True)
    def _edge(tapped: dict[str, Any] | None) -> Any:
        return callbacks.show_edge(store, tapped)

    @app.callback(Output(ids.IMPACT_CSV, "data"), Input(ids.IMPACT_CSV_BUTTON, "n_clicks"),
                  State(ids.IMPACT_ROOT, "data"), prevent_initial_call=True)
    def _csv(clicks: int | None, root: str | None) -> Any:
        return (callbacks.impact_download(store, root) if clicks else None) or no_update

    @app.callback(Output(ids.IMPACT_GRID, "getRowsResponse"), Input(ids.IMPACT_GRID, "getRowsRequest"),
                  State(ids.IMPACT_ROOT, "data"), prevent_initial_call=True)
    def _impact_rows(request: Any, root: Any) -> Any:
        return impact.impact_block(store, root, request)

    # The summary counts every row: asked once the grid has its first block (asked with it, the
    # whole impact would be worked out alongside that block, and slow it), once.
    @app.callback(Output(ids.IMPACT_SUMMARY, "children"), Input(ids.IMPACT_GRID, "getRowsResponse"),
                  State(ids.IMPACT_ROOT, "data"), State(ids.IMPACT_SUMMARY, "children"), prevent_initial_call=True)
    def _impact_summary(_rows: Any, root: Any, shown: Any) -> Any:
        return (impact.impact_summary(store, root) if shown == impact.COUNTING else None) or no_update

    app.clientside_callback(callbacks.REFRESH_GRID, Output(ids.IMPACT_REFRESHED, "data"),
                            Input(ids.IMPACT_SUMMARY, "children"), State(ids.IMPACT_GRID, "id"),
                            prevent_initial_call=True)
    app.clientside_callback(callbacks.CENTRE_ON_ROOT, Output(ids.CENTRED, "data"),
                            Input(ids.GRAPH, "elements"), State(ids.GRAPH, "id"))
    app.clientside_callback(callbacks.OPEN_ON_DOUBLE_TAP, Output(ids.DOUBLE_TAP, "data"),
                            Input(ids.GRAPH, "elements"), State(ids.GRAPH, "id"))
