"""Thin callbacks: each reads its inputs, asks the graph, returns components. None mutates."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import pages, styles
from graph import Store, search

MIN_SEARCH = 2


def search_results(store: Store, text: str | None) -> Any:
    """Live results under the search box."""
    if not text or len(text.strip()) < MIN_SEARCH:
        return []
    found = search(store, text, limit=12)
    if not found:
        return html.P(f"Nothing matches {text!r}.", style=styles.MUTED)
    return pages.node_list(found)


def open_tapped(tapped: dict[str, Any] | None) -> str | None:
    """Clicking a node in the graph opens its page."""
    if not tapped or not tapped.get("href"):
        return None
    return str(tapped["href"])


def show_edge(store: Store, tapped: dict[str, Any] | None) -> Any:
    """Clicking an edge shows the evidence behind it."""
    if not tapped or "|" not in str(tapped.get("id", "")):
        return html.P("Click an edge to see the log lines and SQL behind it.", style=styles.MUTED)
    src, kind, dst = str(tapped["id"]).split("|", 2)
    found = [e for e in store.neighbors([src], outgoing=[kind]) if e.dst == dst]
    if not found:
        return html.P("That edge is gone from the store.", style=styles.MUTED)
    return pages.edge_evidence(store, found[0], src)
