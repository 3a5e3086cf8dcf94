"""Every component id of the dashboard, in one place."""

from __future__ import annotations

URL = "url"
PAGE = "page"
SEARCH_INPUT = "search-input"
SEARCH_RESULTS = "search-results"
GRAPH = "lineage-graph"
EDGE_DETAILS = "edge-details"
